"""The manager's intent from the README, run as a policy against labelled invitations.

Each test is one sentence of the intent (issue #17, points 1-7): the decision, the rule that
decided, the cap that limited it, and the explanation a person reads.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from factories import BASE_POLICY, BOSS, NOW, at, decisions_from, deep_merge, make_event
from factories import make_snapshot as snapshot

from planner.actions import Action, Decline, Flag, Keep
from planner.model import Event
from planner.policy import Policy
from planner.triage import plan_triage

README = Path(__file__).resolve().parents[2] / "README.md"
LEADER = "cro@acme.com"


def intent(**triage: Any) -> Policy:
    """The README's example policy (between the intent-policy markers), with overrides."""
    text = README.read_text(encoding="utf-8")
    block = re.search(
        r"<!-- intent-policy:start -->\s*```yaml\n(.*?)```\s*<!-- intent-policy:end -->",
        text,
        re.S,
    )
    assert block, "README.md lost its example policy"
    data = deep_merge(BASE_POLICY, yaml.safe_load(block.group(1)))
    data["triage"].update(triage)
    return Policy.model_validate(data)


def decide(events: Sequence[Event], p: Policy | None = None, **kw: Any) -> list[Action]:
    return plan_triage(p or intent(), snapshot(events, **kw), NOW, [])


def only(events: Sequence[Event], p: Policy | None = None, **kw: Any) -> Action:
    [action] = [a for a in decide(events, p, **kw) if isinstance(a, Decline | Flag | Keep)]
    return action


def crowd(n: int) -> list[str]:
    return [f"person{i}@acme.com" for i in range(n)]


# 1. "If I answered tentative, at most flag it."


def test_tentative_is_at_most_flagged_and_the_flag_names_rule_and_cap() -> None:
    ev = make_event("Ethics committee", at(2, 10), self_status="tentative")
    flag = only([ev])
    assert isinstance(flag, Flag)
    assert (flag.rule, flag.cap) == ("non-sales", "protected:tentative")
    assert flag.reason.startswith("would decline: rule 'non-sales' matched the title word")
    assert "at most flagged because you answered tentative (triage.protect)" in flag.reason


def test_tentative_stays_fully_protected_by_default() -> None:
    ev = make_event("Ethics committee", at(2, 10), self_status="tentative")
    keep = only([ev], intent(protect={}))
    assert isinstance(keep, Keep) and keep.cap == "protected:tentative"
    assert keep.reason.startswith("protected: you answered tentative; rule 'non-sales'")


# 2. "Leadership invited to a small meeting: keep; among 40 invitees of a broadcast: at most
#    flag."


def test_leadership_in_a_small_meeting_is_kept_by_the_keep_rule() -> None:
    ev = make_event("Committee on Q1 targets", at(2, 10), organizer="ops@acme.com", guests=[LEADER])
    keep = only([ev])
    assert isinstance(keep, Keep) and keep.rule == "leadership-small" and keep.cap is None
    assert f"1 leadership among the guests: {LEADER}" in keep.reason
    assert "3 people invited (at most 10)" in keep.reason


def test_leadership_among_forty_invitees_is_at_most_flagged() -> None:
    ev = make_event("All hands", at(2, 10), organizer="comms@acme.com", guests=[LEADER, *crowd(38)])
    flag = only([ev])
    assert isinstance(flag, Flag)
    assert (flag.rule, flag.cap) == ("non-sales", "leadership-broadcast")
    assert "rule 'leadership-broadcast' matched 1 leadership" in flag.reason
    # The same broadcast without leadership is declined: the cap made the difference.
    bare = make_event("All hands", at(2, 10), organizer="comms@acme.com", guests=crowd(39))
    assert isinstance(only([bare]), Decline)


# 3. "A tooling session for one of my reps: delegate it to that rep."


def test_tooling_session_is_delegated_to_the_rep_on_the_guest_list() -> None:
    ev = make_event(
        "CRM tooling session", at(2, 10), organizer="it@acme.com", guests=["sam@acme.com"]
    )
    actions = decide([ev])
    [d] = [a for a in actions if isinstance(a, Decline)]
    assert d.rule == "tooling-for-a-rep" and d.delegate_to == "sam@acme.com"
    assert "delegate to sam@acme.com (the rep among the guests)" in d.reason
    emails = {a.kind: a for a in actions if not isinstance(a, Decline)}
    assert emails["delegate"].to == ("sam@acme.com",)  # type: ignore[attr-defined]


def test_tooling_session_without_a_rep_is_not_delegated() -> None:
    ev = make_event("CRM tooling session", at(2, 10), organizer="it@acme.com")
    assert only_or_none([ev]) is None  # the rule needs a rep among the guests


def only_or_none(events: Sequence[Event]) -> Action | None:
    found = [a for a in decide(events) if isinstance(a, Decline | Flag | Keep)]
    return found[0] if found else None


# 4. "Organizer on a domain that is neither ours nor a customer's: flag."


def test_outside_organizer_is_flagged_by_a_negated_condition() -> None:
    vendor = make_event("Partner sync", at(2, 10), organizer="ann@vendor.io")
    flag = only([vendor])
    assert isinstance(flag, Flag) and flag.rule == "outside-organizer"
    assert "not (the organizer ann@vendor.io is none of 'internal', 'customer')" in flag.reason
    ours = make_event("Partner sync", at(2, 11), organizer="ops@acme.com")
    assert only_or_none([ours]) is None
    customer = make_event("Partner sync", at(2, 12), organizer="cfo@bigbuyer.com")
    assert only_or_none([customer]) is None  # a customer's: protected, and no rule acts


# 5. "My reps and HR organize it: at most flag" - one cap rule, not a block per organizer.


def test_reps_and_hr_as_organizers_are_at_most_flagged() -> None:
    rep = make_event("Committee prep", at(2, 10), organizer="riley@acme.com")
    hr = make_event("Benefits webinar", at(2, 11), organizer="hr@acme.com")
    flags = decide([rep, hr])
    assert [(type(a).__name__, a.rule, a.cap) for a in flags] == [  # type: ignore[union-attr]
        ("Flag", "non-sales", "team-and-hr-organize"),
        ("Flag", "non-sales", "team-and-hr-organize"),
    ]


# 6. Words: accents, typographic quotes, invisible characters.


def test_words_match_the_normalised_title() -> None:
    titles = ["Comité de direction", "What’s new in Q3", "All\u200bhands", "ALL\u202ehands"]
    events = [make_event(t, at(2, 9 + i), organizer="ops@acme.com") for i, t in enumerate(titles)]
    actions = decide(events)
    assert [type(a).__name__ for a in actions if isinstance(a, Decline | Flag | Keep)] == [
        "Decline"
    ] * 4


# 7. keep is final; a policy change re-decides; the first protection in order is named.


def test_keep_rule_is_final_even_over_the_budget() -> None:
    # 6h of non-sales earlier this week (before NOW), over the 5h budget.
    busy = make_event("Ethics committee", at(30, 0), minutes=360, self_status="accepted")
    pipeline = make_event("Pipeline review", at(2, 10), organizer="ops@acme.com")
    keep = only([busy, pipeline])
    assert isinstance(keep, Keep) and keep.rule == "pipeline"
    # Naming the category puts the keep rule under the budget again.
    p = intent()
    rules = [
        r.model_copy(update={"category": "non_sales"}) if r.name == "pipeline" else r
        for r in p.triage.rules
    ]
    p2 = Policy.model_validate(
        deep_merge(
            p.model_dump(mode="json", by_alias=True),
            {"triage": {"rules": [r.model_dump(mode="json", by_alias=True) for r in rules]}},
        )
    )
    flag = only([busy, pipeline], p2)
    assert isinstance(flag, Flag) and flag.rule == "budget:non_sales"


def test_switching_flag_to_decline_re_decides_the_flagged_meetings_once() -> None:
    ev = make_event("Ethics committee", at(2, 10), organizer="ops@acme.com")
    first = decide([ev], intent(mode="flag"))
    assert [type(a) for a in first] == [Flag]
    memory = decisions_from(first)
    assert decide([ev], intent(mode="flag"), decisions=memory) == []
    again = decide([ev], intent(mode="decline"), decisions=memory)
    [d] = [a for a in again if isinstance(a, Decline)]
    assert d.was == "flag:non-sales"
    # Once: the new decision is recorded under the new policy and not taken again.
    memory = decisions_from(again, previous=memory)
    assert decide([ev], intent(mode="decline"), decisions=memory) == []


def test_a_meeting_the_manager_answered_is_not_re_decided() -> None:
    ev = make_event("Ethics committee", at(2, 10), organizer="ops@acme.com")
    memory = decisions_from(decide([ev], intent(mode="flag")))
    answered = make_event(
        "Ethics committee",
        at(2, 10),
        organizer="ops@acme.com",
        self_status="tentative",
        id=ev.id,
    )
    # Tentative changes nothing in the fingerprint (time and title): no new decision.
    assert decide([answered], intent(mode="decline"), decisions=memory) == []


def test_the_ceos_own_meeting_is_explained_by_its_organizer_not_the_invited_boss() -> None:
    ev = make_event(
        "Steering committee", at(2, 10), organizer="ceo@acme.com", guests=[BOSS, *crowd(12)]
    )
    keep = only([ev])
    assert isinstance(keep, Keep) and keep.cap == "protected:leadership"
    assert keep.reason.startswith(
        "protected: the organizer ceo@acme.com is leadership (triage.groups.leadership)"
    )


def test_the_digest_says_what_a_policy_change_changed_and_why() -> None:
    from datetime import timedelta

    from planner.contexts import digest_context
    from planner.emails import is_news

    changed = make_event("Ethics committee", at(2, 10), organizer="ops@acme.com")
    same = make_event("Partner sync", at(2, 11), organizer="ann@vendor.io")
    first = decide([changed, same], intent(mode="flag"))
    memory = decisions_from(first)
    later = NOW + timedelta(hours=1)
    again = decide([changed, same], intent(mode="decline"), decisions=memory)
    # Both are re-decided once; only the one whose outcome changed is news.
    assert {a.event_id: a.was for a in again if isinstance(a, Decline | Flag | Keep)} == {
        changed.id: "flag:non-sales",
        same.id: "flag:outside-organizer",
    }
    news = [d for d in decisions_from(again, now=later).values() if is_news(d)]
    assert [d.event_id for d in news] == [changed.id]
    ctx = digest_context(intent(), news, NOW, later + timedelta(hours=1))
    [row] = ctx["changed"]
    assert row["done"] == "declined" and row["was"] == "flagged by rule 'non-sales'"
    assert ctx["declined"][0]["was"] == "flagged by rule 'non-sales'"
