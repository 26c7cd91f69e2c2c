"""Approve by reply (planner side): parsing a reply, resolving the digest's numbers, and only
the manager's own replies counting."""

from __future__ import annotations

from typing import Any

import pytest
from factories import MANAGER, NOW, at, make_event, make_policy, make_series, make_snapshot

from planner.actions import Action, Decline, Keep, Processed, SendEmail
from planner.ids import message_id
from planner.model import Event, Reply
from planner.replies import parse_commands, plan_replies
from planner.triage import MANAGER_POLICY, invitations, plan_triage, series_fingerprint

DIGEST = "digest:2026-11-29"
SENDER = "coachd@acme.com"


def policy(**triage: Any) -> Any:
    return make_policy({"email": {"from": SENDER}, "triage": triage})


def digest_id() -> str:
    return message_id(MANAGER, DIGEST, "acme.com")


def reply(text: str, sender: str = MANAGER, refs: tuple[str, ...] | None = None) -> Reply:
    return Reply("<r1@mail.acme.com>", sender, "Re: Triage digest", refs or (digest_id(),), text)


def numbered(*events: Event) -> dict[str, dict[str, tuple[str, str]]]:
    return {DIGEST: {str(i): (e.id, e.fingerprint()) for i, e in enumerate(events, 1)}}


def run(events: list[Event], *replies: Reply, numbers: Any = None, **triage: Any) -> list[Action]:
    snap = make_snapshot(events, replies=replies, digest_numbers=numbers or numbered(*events))
    return plan_triage(policy(**triage), snap, NOW, [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("decline 2", [("decline", (2,), False, None)]),
        ("Decline 2, 3 and 5.", [("decline", (2, 3, 5), False, None)]),
        ("keep 4\n\nkeep all", [("keep", (4,), False, None), ("keep", (), True, None)]),
        ("delegate 3 to Sam@Acme.com", [("delegate", (3,), False, "sam@acme.com")]),
        ("DECLINE ALL", [("decline", (), True, None)]),
        ("decline 1\n> decline 2\n", [("decline", (1,), False, None)]),
        ("decline 1\nOn Mon, 30 Nov 2026 Dana wrote:\ndecline 2", [("decline", (1,), False, None)]),
        ("decline 1\n-- \ndecline 2", [("decline", (1,), False, None)]),
    ],
)
def test_parse_commands(text: str, expected: list[tuple[Any, ...]]) -> None:
    commands, _ = parse_commands(text)
    assert [(c.verb, c.numbers, c.everything, c.to) for c in commands] == expected


def test_lines_not_understood_are_collected() -> None:
    commands, unknown = parse_commands("thanks!\ndecline two\nkeep 1")
    assert len(commands) == 1 and unknown == ["thanks!", "decline two"]


def test_the_manager_declines_delegates_and_keeps_by_number_and_gets_a_confirmation() -> None:
    a, b, c = (make_event(f"Meeting {i}", at(2, 9 + i)) for i in range(3))
    text = "decline 1\ndelegate 2 to sam@acme.com\nkeep 3"
    actions = run([a, b, c], reply(text), mode="flag")  # flag mode: the reply still acts
    declines = [x for x in actions if isinstance(x, Decline)]
    assert [(d.event_id, d.delegate_to, d.policy) for d in declines] == [
        (a.id, None, MANAGER_POLICY),
        (b.id, "sam@acme.com", MANAGER_POLICY),
    ]
    [keep] = [x for x in actions if isinstance(x, Keep)]
    assert (keep.event_id, keep.rule, keep.policy) == (c.id, "reply", MANAGER_POLICY)
    mails = {m.kind: m for m in actions if isinstance(m, SendEmail)}
    assert set(mails) == {"decline_reply", "delegate", "reply_confirmation"}
    confirm = mails["reply_confirmation"]
    assert confirm.to == (MANAGER,) and len(confirm.context["done"]) == 3
    assert [x for x in actions if isinstance(x, Processed)] == [
        Processed("<r1@mail.acme.com>", "3 meeting(s) answered by your reply")
    ]


def test_a_stranger_cannot_answer_the_digest() -> None:
    ev = make_event("Meeting", at(2, 10))
    actions = run([ev], reply("decline all", sender="mallory@evil.example"))
    assert actions == [
        Processed("<r1@mail.acme.com>", "ignored: from mallory@evil.example, not you")
    ]


def test_a_reply_that_answers_no_digest_does_nothing_but_say_so() -> None:
    ev = make_event("Meeting", at(2, 10))
    actions = run([ev], reply("decline 1", refs=("<other@x.com>",)))
    assert not [x for x in actions if isinstance(x, Decline | Keep)]
    [confirm] = [x for x in actions if isinstance(x, SendEmail)]
    assert confirm.context["refused"] == ["it does not answer a digest"]
    assert run([ev], reply("thanks!", refs=("<other@x.com>",))) == [
        Processed("<r1@mail.acme.com>", "ignored: no command in it")
    ]


def test_changed_past_or_unknown_meetings_are_left_alone() -> None:
    moved = make_event("Moved", at(2, 10), id="m")
    numbers = numbered(make_event("Moved", at(2, 9), id="m"), make_event("Gone", at(2, 11)))
    actions = run([moved], reply("decline 1\ndecline 2\ndecline 7"), numbers=numbers)
    assert not [x for x in actions if isinstance(x, Decline)]
    [confirm] = [x for x in actions if isinstance(x, SendEmail)]
    assert confirm.context["refused"] == [
        "[1]: its time or title changed since the digest; left alone",
        "[2]: over, cancelled or already declined; left alone",
        "'decline 7': the digest has no meeting number 7",
    ]


def test_decline_all_covers_a_series_and_triage_leaves_what_the_reply_answered() -> None:
    series = make_series("Weekly vendor sync", at(1, 15), 3, organizer="ann@vendor.io")
    p = policy()
    [inv] = invitations(p, series, NOW)
    numbers = {DIGEST: {"1": (inv.event.id, series_fingerprint(inv.event, p))}}
    rules = [{"name": "vendors", "action": "flag", "match": {"organizer": ["vendor.io"]}}]
    actions = run(series, reply("decline all"), numbers=numbers, rules=rules, mode="decline")
    [d] = [x for x in actions if isinstance(x, Decline)]
    assert d.rule == "reply" and "(the whole series)" in d.reason
    assert not [x for x in actions if getattr(x, "rule", "") == "vendors"]


def test_a_bad_delegate_address_is_refused() -> None:
    ev = make_event("Meeting", at(2, 10))
    actions = run([ev], reply("delegate 1 to sam"))
    assert not [x for x in actions if isinstance(x, Decline)]
    [confirm] = [x for x in actions if isinstance(x, SendEmail)]
    assert "is not an email address" in confirm.context["refused"][0]


def test_the_managers_answer_is_never_re_decided_by_a_policy_change() -> None:
    from factories import decisions_from

    ev = make_event("Desk moves", at(2, 10))
    kept = run([ev], reply("keep 1"))
    memory = decisions_from(kept)
    rules = [{"name": "desk", "action": "decline", "match": {"title": ["desk"]}}]
    later = plan_triage(
        policy(mode="decline", rules=rules), make_snapshot([ev], decisions=memory), NOW, []
    )
    assert later == []
    assert plan_replies(policy(), make_snapshot([ev]), NOW) == []
