"""Triage rule matching: every match kind, AND/OR semantics, first match wins, reasons."""

from __future__ import annotations

from typing import Any

import pytest
from factories import at, make_event, make_policy, make_series

from planner.model import Event
from planner.policy import Rule
from planner.rules import MatchContext, check_rule, first_match, match_rule
from planner.timeutil import Interval


def rule(name: str = "r", action: str = "flag", **match: Any) -> Rule:
    return Rule.model_validate({"name": name, "action": action, "match": match})


def ctx(**over: Any) -> MatchContext:
    policy = make_policy({"triage": {"internal_domains": ["acme-labs.io"]}})
    coaching = over.pop("coaching", ())
    return MatchContext.build(policy, coaching)


def matches(r: Rule, ev: Event, c: MatchContext | None = None) -> bool:
    return match_rule([r], ev, c or ctx()) is r


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Desk booking review", True),
        ("DESK moves", True),
        ("New desk.", True),
        ("Deskside chat", False),
        ("Standing-desks", False),
        ("Pipeline review", False),
    ],
)
def test_title_words_match_whole_words_case_insensitively(title: str, expected: bool) -> None:
    assert matches(rule(title=["desk", "parking"]), make_event(title)) is expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [("Q4 All-Hands", True), ("all   hands prep", True), ("hands all", False), ("allhands", False)],
)
def test_title_phrase_matches_across_spaces_and_hyphens(title: str, expected: bool) -> None:
    assert matches(rule(title=["all hands"]), make_event(title)) is expected


def test_title_regex_is_a_case_insensitive_search() -> None:
    r = rule(title_regex=r"^fw(d)?:")
    assert matches(r, make_event("FWD: lunch and learn"))
    assert matches(r, make_event("fw: facilities"))
    assert not matches(r, make_event("Re: fwd: something"))


def test_description_words() -> None:
    r = rule(description=["mandatory training"])
    assert matches(r, make_event("Session", description="This is MANDATORY training for all"))
    assert not matches(r, make_event("Session", description="optional training"))
    assert not matches(r, make_event("mandatory training", description=""))


@pytest.mark.parametrize(
    ("organizer", "expected"),
    [
        ("hr@acme.com", True),  # exact address
        ("HR@ACME.COM", True),
        ("x@facilities.acme.com", True),  # domain and its subdomains
        ("x@facilities.com", True),
        ("x@notfacilities.com", False),
        ("other@acme.com", False),
    ],
)
def test_organizer_address_or_domain(organizer: str, expected: bool) -> None:
    r = rule(organizer=["hr@acme.com", "facilities.com", "facilities.acme.com"])
    assert matches(r, make_event("Anything", organizer=organizer)) is expected


def test_organizer_condition_fails_without_an_organizer() -> None:
    assert not matches(rule(organizer=["acme.com"]), make_event("x", organizer=None))


def test_attendee_counts_include_organizer_and_manager_once() -> None:
    ev = make_event("x", organizer="a@acme.com", guests=["b@acme.com", "c@acme.com"])
    # organizer, two guests and the manager: four people
    assert matches(rule(min_attendees=4), ev)
    assert not matches(rule(min_attendees=5), ev)
    assert matches(rule(max_attendees=4), ev)
    assert not matches(rule(max_attendees=3), ev)


def test_internal_only_uses_manager_and_internal_domains() -> None:
    internal = make_event("x", organizer="a@acme.com", guests=["b@eu.acme-labs.io"])
    external = make_event("x", organizer="a@acme.com", guests=["buyer@customer.com"])
    assert matches(rule(internal_only=True), internal)
    assert not matches(rule(internal_only=True), external)
    assert matches(rule(internal_only=False), external)
    assert not matches(rule(internal_only=False), internal)


def test_recurring_condition() -> None:
    one_off = make_event("x")
    weekly = make_series("x", at(1, 10), 2)[0]
    assert matches(rule(recurring=True), weekly) and not matches(rule(recurring=True), one_off)
    assert matches(rule(recurring=False), one_off) and not matches(rule(recurring=False), weekly)


def test_duration_bounds_are_inclusive() -> None:
    ev = make_event("x", minutes=60)
    assert matches(rule(min_duration="1h"), ev)
    assert not matches(rule(min_duration="61m"), ev)
    assert matches(rule(max_duration="1h"), ev)
    assert not matches(rule(max_duration="59m"), ev)


def test_overlaps_coaching_uses_the_blocks_in_the_context() -> None:
    block = Interval(at(1, 10, 30), at(1, 11))
    c = ctx(coaching=[block, Interval(at(3, 9), at(3, 10))])
    over = make_event("x", at(1, 10), minutes=45)
    touching = make_event("x", at(1, 9, 30), minutes=60)  # ends as the block starts
    assert matches(rule(overlaps_coaching=True), over, c)
    assert not matches(rule(overlaps_coaching=True), touching, c)
    assert matches(rule(overlaps_coaching=False), touching, c)


def test_conditions_are_anded_and_lists_ored() -> None:
    r = rule(title=["desk", "parking"], organizer=["facilities.com"])
    assert matches(r, make_event("Parking update", organizer="ops@facilities.com"))
    assert not matches(r, make_event("Parking update", organizer="ops@acme.com"))
    assert not matches(r, make_event("Lunch", organizer="ops@facilities.com"))


def test_first_match_wins_and_explains_itself() -> None:
    keep = rule("leadership", "keep", title=["board"])
    decline = rule("facilities", "decline", title=["desk", "board"])
    found = first_match([keep, decline], make_event("Desk board"), ctx())
    assert found is not None and found.rule is keep
    found = first_match([keep, decline], make_event("desk moves"), ctx())
    assert found is not None and found.rule is decline
    assert found.describe() == "rule 'facilities' matched the title word 'desk'"


def test_reason_names_every_condition() -> None:
    r = rule("big", title=["town hall"], min_attendees=2, max_duration="2h")
    found = first_match([r], make_event("Town Hall", minutes=90), ctx())
    assert found is not None
    text = found.describe()
    assert "the title phrase 'town hall'" in text
    assert "people invited (at least 2)" in text
    assert "a length of 1h30 (at most 2h)" in text


def test_empty_match_matches_everything_and_no_rules_match_nothing() -> None:
    assert matches(rule(), make_event("anything"))
    assert match_rule([], make_event("anything"), ctx()) is None


# --- people, response, counts and negation (issue #17) -----------------------------------


def people_ctx() -> MatchContext:
    policy = make_policy(
        {
            "triage": {
                "customer_domains": ["bigbuyer.com"],
                "groups": {"leadership": ["cro@acme.com"], "hr": ["hr@acme.com"]},
            }
        }
    )
    return MatchContext.build(policy)


@pytest.mark.parametrize(
    ("who", "organizer", "expected"),
    [
        ("internal", "ops@acme.com", True),
        ("internal", "ann@vendor.io", False),
        ("customer", "cfo@bigbuyer.com", True),
        ("external", "cfo@bigbuyer.com", False),
        ("external", "ann@vendor.io", True),
        ("rep", "sam@acme.com", True),
        ("rep", "ops@acme.com", False),
        ("boss", "vp@acme.com", True),
        ("leadership", "vp@acme.com", True),  # the boss is leadership
        ("leadership", "cro@acme.com", True),
        ("hr", "hr@acme.com", True),
        ("vendor.io", "ann@eu.vendor.io", True),
    ],
)
def test_organizer_classes_and_groups(who: str, organizer: str, expected: bool) -> None:
    r = rule(organizer=[who])
    assert matches(r, make_event("x", organizer=organizer), people_ctx()) is expected


def test_guest_counts_and_their_reasons() -> None:
    ev = make_event("x", organizer="ops@acme.com", guests=["sam@acme.com", "riley@acme.com"])
    c = people_ctx()
    assert matches(rule(guests="rep"), ev, c)
    assert matches(rule(guests={"who": ["rep"], "at_least": 2}), ev, c)
    assert not matches(rule(guests={"who": ["rep"], "at_least": 3}), ev, c)
    assert not matches(rule(guests={"who": "rep", "at_most": 1}), ev, c)
    check = check_rule(rule(guests={"who": "rep", "at_most": 1}), ev, c)
    assert check.describe() == "not matched: 2 of the guests are rep (at most 1 allowed)"
    ok = check_rule(rule(guests="rep"), ev, c)
    assert ok.describe() == "matched 2 rep among the guests: sam@acme.com, riley@acme.com"


@pytest.mark.parametrize(
    ("status", "response", "expected"),
    [
        ("tentative", ["tentative"], True),
        ("needsAction", ["needs_action"], True),
        ("needsAction", ["tentative", "accepted"], False),
        (None, ["none"], True),
    ],
)
def test_response_is_the_managers_own_answer(
    status: Any, response: list[str], expected: bool
) -> None:
    ev = make_event("x", self_status=status)
    assert matches(rule(response=response), ev) is expected


def test_not_negates_a_whole_block_and_says_why() -> None:
    r = rule(**{"not": {"organizer": ["internal", "customer"]}})
    c = people_ctx()
    assert matches(r, make_event("x", organizer="ann@vendor.io"), c)
    assert not matches(r, make_event("x", organizer="cfo@bigbuyer.com"), c)
    check = check_rule(r, make_event("x", organizer="ops@acme.com"), c)
    assert check.describe() == "not matched: `not` failed: the organizer ops@acme.com ('internal')"


def test_cap_rules_never_decide_and_config_names_unknown_groups() -> None:
    cap = Rule.model_validate({"name": "c", "at_most": "flag", "match": {}})
    assert match_rule([cap], make_event("anything"), ctx()) is None
    with pytest.raises(ValueError, match="neither an address, a domain, a class"):
        make_policy(
            {"triage": {"rules": [{"name": "x", "action": "flag", "match": {"guests": "cfo"}}]}}
        )
    with pytest.raises(ValueError, match="needs action"):
        Rule.model_validate({"name": "x", "match": {}})
    with pytest.raises(ValueError, match="not both"):
        Rule.model_validate({"name": "x", "match": {}, "action": "flag", "at_most": "flag"})
