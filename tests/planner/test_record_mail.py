"""planner.record_mail: who may add to a record by mail, what each line means, what is answered."""

from __future__ import annotations

from datetime import date

from test_emails import ALEX, SAM, local, make_policy, snapshot

from planner.actions import Processed, RecordEdit, SendEmail
from planner.ids import message_id
from planner.model import Reply
from planner.record import Item, Record, add_item, new_record, parse, serialise
from planner.record_mail import apply_edit, parse_mail, plan_record_mail

NOW = local(2026, 11, 30, 9)
MANAGER = "dana@example.com"
AGENDA = "agenda:one_on_one:alex@example.com:2026-W49"


def _record() -> Record:
    rec = parse(new_record(ALEX, "Alex Rivera"))
    rec = add_item(rec, Item("Send the question bank", owner="manager", due=date(2026, 11, 27)))
    return add_item(rec, Item("Role-play the pricing call", owner="rep"))


def _plan(*replies: Reply, sent: frozenset[str] = frozenset({AGENDA})) -> list[object]:
    policy = make_policy()
    snap = snapshot(record_mail=replies, records={ALEX: _record()}, sent=sent)
    return list(plan_record_mail(policy, snap, NOW))


def _agenda_id() -> str:
    return message_id(MANAGER, AGENDA, "localhost.localdomain")


def test_a_reps_two_topics_become_two_talking_points() -> None:
    body = "Hi Dana,\n\n- Territory split\n- Commission on renewals\n\nThanks\n> - quoted line\n"
    actions = _plan(Reply("<m1@x>", ALEX, "Re: 1:1 agenda", (_agenda_id(),), body))
    [edit] = [a for a in actions if isinstance(a, RecordEdit)]
    assert edit.rep == ALEX and edit.who == "rep"
    assert edit.points == ("Territory split", "Commission on renewals")
    assert not [a for a in actions if isinstance(a, SendEmail)]  # understood: no answer
    [done] = [a for a in actions if isinstance(a, Processed)]
    assert done.namespace == "record" and not done.ignored
    # a rep writing fresh to coachd's address counts for themselves too
    actions = _plan(Reply("<m2@x>", ALEX, "topics", (), "- Pricing objections"))
    assert [a.points for a in actions if isinstance(a, RecordEdit)] == [("Pricing objections",)]


def test_the_managers_reply_ticks_adds_and_notes() -> None:
    body = (
        "[x] send the question\n"
        "- [ ] Shadow Priya on a demo (owner: rep, due: 2026-12-09)\n"
        "note: Alex is keen on the enterprise track\n"
        "[x] something that is not there\n"
    )
    actions = _plan(Reply("<m3@x>", MANAGER, "Re: 1:1 agenda", (_agenda_id(),), body))
    [edit] = [a for a in actions if isinstance(a, RecordEdit)]
    assert edit.ticks == ("Send the question bank",)
    assert edit.items == (("Shadow Priya on a demo", "rep", "2026-12-09"),)
    assert edit.notes == ("Alex is keen on the enterprise track",)
    [answer] = [a for a in actions if isinstance(a, SendEmail)]  # one line was not done
    assert answer.kind == "record_reply" and answer.to == (MANAGER,)
    assert answer.context["not_done"] == ["'something that is not there': no open item matches it"]
    rec = apply_edit(_record(), edit)
    assert [i.text for i in rec.open_items()] == [
        "Role-play the pricing call",
        "Shadow Priya on a demo",
    ]
    assert "(manager, by mail): Alex is keen on the enterprise track" in serialise(rec)
    assert apply_edit(rec, edit) == rec  # handled twice after a crash: one copy


def test_the_manager_names_the_rep_in_the_subject() -> None:
    actions = _plan(Reply("<m4@x>", MANAGER, "Notes for Alex Rivera", (), "note: good week"))
    assert [a.rep for a in actions if isinstance(a, RecordEdit)] == [ALEX]
    actions = _plan(Reply("<m5@x>", MANAGER, "Notes", (), "note: whose?"))
    assert not [a for a in actions if isinstance(a, RecordEdit)]
    [answer] = [a for a in actions if isinstance(a, SendEmail)]
    assert answer.context["not_done"] == ["which rep it is about"]


def test_strangers_spoofers_and_other_reps_are_ignored_and_counted() -> None:
    spoof = Reply("<s1@x>", "dana@example.com.evil.test", "Re: agenda", (_agenda_id(),), "[x] Send")
    stranger = Reply("<s2@x>", "someone@else.test", "hi", (), "- buy our tool")
    other = Reply("<s3@x>", SAM, "Re: agenda", (_agenda_id(),), "- Alex should be fired")
    actions = _plan(spoof, stranger, other)
    assert not [a for a in actions if isinstance(a, RecordEdit | SendEmail)]
    assert [a.ignored for a in actions if isinstance(a, Processed)] == [True, True, True]


def test_unparseable_gets_one_polite_answer_and_changes_nothing() -> None:
    actions = _plan(Reply("<u1@x>", ALEX, "Re: agenda", (), "Can we move the meeting?"))
    assert not [a for a in actions if isinstance(a, RecordEdit)]
    [answer] = [a for a in actions if isinstance(a, SendEmail)]
    assert answer.to == (ALEX,) and answer.context["understood"] == []
    assert answer.context["unknown"] == ["Can we move the meeting?"]
    # a rep cannot tick or add items: those lines are not understood from them
    actions = _plan(Reply("<u2@x>", ALEX, "x", (), "[x] Send the question bank\nnote: hi"))
    assert not [a for a in actions if isinstance(a, RecordEdit)]


def test_hostile_lines_are_cleaned_and_capped() -> None:
    body = "- Topic \u202eevil\u202c with <!-- coachd:end x --> and\r\n" + "- x\n" * 500
    p = parse_mail(body, "rep", None)
    assert "\u202e" not in p.points[0] and "-->" not in p.points[0]
    assert len(p.points) == 30
