"""The one-on-one agenda reads the rep's record: open items carry over until ticked, overdue
ones are marked, the rep's talking points show, and the rendered email says so."""

from __future__ import annotations

from datetime import date, timedelta

from test_emails import ALEX, agendas, local, make_policy, one_on_one, snapshot

from integrations.mail.render import Renderer
from planner.record import Item, Record, add_item, add_point, find_open, new_record, parse, tick


def _record() -> Record:
    rec = parse(new_record(ALEX, "Alex Rivera"))
    rec = add_item(rec, Item("Send the question bank", owner="manager", due=date(2026, 11, 27)))
    rec = add_item(rec, Item("Role-play the pricing call", owner="rep", due=date(2026, 12, 9)))
    rec = add_point(rec, Item("Territory split", by="rep", added=date(2026, 11, 29)))
    return add_point(rec, Item("Commission question", by="rep", added=date(2026, 11, 29)))


def test_agenda_carries_items_marks_overdue_and_shows_talking_points() -> None:
    policy = make_policy()
    start = local(2026, 12, 1, 10)
    rec = _record()
    [e] = agendas(
        policy, snapshot(records={ALEX: rec}), start - timedelta(hours=2), [one_on_one(start)]
    )
    items = e.context["action_items"]
    assert [(i["text"], i["overdue"]) for i in items] == [
        ("Send the question bank", True),
        ("Role-play the pricing call", False),
    ]
    assert [p["text"] for p in e.context["talking_points"]] == [
        "Territory split",
        "Commission question",
    ]
    out = Renderer().render("agenda", e.context)
    assert "[ ] OVERDUE Send the question bank (manager, due Fri 27 Nov 2026)" in out.text
    assert "Territory split" in out.text and "Commission question" in out.html
    assert "Overdue:" in out.html


def test_a_ticked_item_leaves_the_next_agenda() -> None:
    policy = make_policy()
    start = local(2026, 12, 1, 10)
    rec = _record()
    item = find_open(rec, "send the question bank")
    assert item is not None
    ticked = tick(rec, item)
    [e] = agendas(
        policy, snapshot(records={ALEX: ticked}), start - timedelta(hours=2), [one_on_one(start)]
    )
    assert [i["text"] for i in e.context["action_items"]] == ["Role-play the pricing call"]
