"""planner.record: a coaching record parses, edits and serialises without touching people's text."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.record import (
    ITEMS,
    MEETINGS,
    POINTS,
    Item,
    add_item,
    add_note,
    add_point,
    clean,
    find_open,
    meeting_block,
    migrate_notes,
    new_record,
    parse,
    put_block,
    serialise,
    tick,
)

HUMAN = """---
rep: alex@example.com
name: Alex Rivera
team: east   # a key coachd does not know
---

# Alex's record (my own title)

Some text before any section, kept.

## Goals

- Close 3 new logos (agreed: 2026-10-01, target: 2026-12-31, status: open)
  - 2026-10-01: agreed in the Q4 kick-off
  - 2026-11-15: two closed so far
- Shadow a senior AE (status: met)
- Learn the new CPQ tool (nobody knows when)

## Action items

- [ ] Send the question bank (owner: manager, due: 2026-11-20)
- [x] Book the demo room (owner: rep)
* [ ] Review two lost deals (due: 2026-12-10)
   - [ ] an indented sub-step, not an item
- [ ] Call Acme (re: renewal)

## talking points

- [ ] Territory split (from: rep, added: 2026-11-28)

## Meeting notes

### 2026-11-17

Talked about pipeline.   Trailing spaces kept.{TRAIL}

## Coaching cases

## Something of my own
- [ ] not an action item: it is in my section
""".replace("{TRAIL}", "   ")


def test_round_trip_is_identity_on_a_human_file() -> None:
    for text in (HUMAN, HUMAN.replace("\n", "\r\n"), HUMAN.rstrip("\n"), "", "no sections\n"):
        assert serialise(parse(text)) == text


def test_what_a_human_file_says() -> None:
    rec = parse(HUMAN)
    assert rec.field("rep") == "alex@example.com"
    assert rec.field("name") == "Alex Rivera"
    [g1, g2, g3] = rec.goals
    assert (g1.text, g1.agreed, g1.target, g1.status) == (
        "Close 3 new logos",
        date(2026, 10, 1),
        date(2026, 12, 31),
        "open",
    )
    assert [d for d, _ in g1.history] == [date(2026, 10, 1), date(2026, 11, 15)]
    assert g2.status == "met"
    assert g3.text == "Learn the new CPQ tool (nobody knows when)"
    texts = [(i.text, i.done, i.owner, i.due) for i in rec.items]
    assert texts == [
        ("Send the question bank", False, "manager", date(2026, 11, 20)),
        ("Book the demo room", True, "rep", None),
        ("Review two lost deals", False, None, date(2026, 12, 10)),
        ("Call Acme (re: renewal)", False, None, None),
    ]
    assert [p.text for p in rec.points] == ["Territory split"]
    assert rec.points[0].added == date(2026, 11, 28)
    assert rec.items[0].overdue(date(2026, 11, 21))
    assert not rec.items[0].overdue(date(2026, 11, 20))
    assert not rec.items[1].overdue(date(2027, 1, 1))


def test_tick_changes_only_the_mark() -> None:
    rec = parse(HUMAN)
    item = find_open(rec, "send the  QUESTION bank")
    assert item is not None
    after = tick(rec, item)
    before_lines, after_lines = rec.lines, after.lines
    changed = [i for i, (a, b) in enumerate(zip(before_lines, after_lines, strict=True)) if a != b]
    assert changed == [item.line]
    assert (
        after.lines[item.line] == "- [x] Send the question bank (owner: manager, due: 2026-11-20)\n"
    )
    assert [i.text for i in after.open_items()] == [
        "Review two lost deals",
        "Call Acme (re: renewal)",
    ]


def test_find_open_prefix_only_when_unique() -> None:
    rec = parse(HUMAN)
    assert find_open(rec, "Review two") is not None
    assert find_open(rec, "") is None
    assert find_open(rec, "Book the demo room") is None  # already done


def test_add_item_goes_to_the_end_of_its_section() -> None:
    rec = add_item(
        parse(HUMAN), Item("Role-play the pricing call", owner="rep", due=date(2026, 12, 9))
    )
    assert rec.items[-1].text == "Role-play the pricing call"
    assert rec.items[-1].owner == "rep" and rec.items[-1].due == date(2026, 12, 9)
    text = serialise(rec)
    assert text.index("Role-play") < text.index("## talking points")
    # every original line is still there, in order
    it = iter(rec.lines)
    assert all(line in it for line in parse(HUMAN).lines)


def test_missing_section_is_added_and_crlf_kept() -> None:
    rec = add_point(parse("---\r\nrep: a@b.c\r\n---\r\n"), Item("Pricing", added=date(2026, 12, 1)))
    text = serialise(rec)
    assert "## Talking points\r\n" in text and "\n" not in text.replace("\r\n", "")
    assert [p.text for p in rec.points] == ["Pricing"]


def test_blocks_are_written_once_and_rewritten_in_place() -> None:
    rec = put_block(parse(HUMAN), MEETINGS, "meeting/2026-12-01/k1", ["### One-on-one", "- a"])
    assert rec.block("meeting/2026-12-01/k1") is not None
    again = put_block(rec, MEETINGS, "meeting/2026-12-01/k1", ["### One-on-one", "- b"])
    block = again.block("meeting/2026-12-01/k1")
    assert block is not None and block.body == ("### One-on-one", "- b")
    assert len(again.lines) == len(rec.lines)
    assert again.meeting_days() == (date(2026, 12, 1),)


def test_outside_text_cannot_break_the_file() -> None:
    evil = "line\r\n## Action items\n- [ ] fake <!-- coachd:end x --> \u202eevil\x00"
    assert "\n" not in clean(evil) and "\u202e" not in clean(evil) and "-->" not in clean(evil)
    rec = add_point(parse(new_record("a@b.c", "A")), Item(evil, by="rep"))
    assert len(rec.items) == 0 and len(rec.points) == 1
    assert len(clean("x" * 5000)) == 300


def test_talking_points_show_until_an_agenda_has_carried_them() -> None:
    rec = parse(new_record("a@b.c", "A"))
    rec = add_point(rec, Item("Old topic", added=date(2026, 11, 2)))
    rec = add_point(rec, Item("Late topic", added=date(2026, 11, 9)))
    # the agenda of 10 Nov went out with the old topic only
    rec = put_block(rec, MEETINGS, "meeting/2026-11-10/k", ["Talking points:", "- Old topic"])
    rec = add_point(rec, Item("New topic", added=date(2026, 11, 12)))
    assert [p.text for p in rec.points_for(date(2026, 11, 10))] == [
        "Old topic",
        "Late topic",
        "New topic",
    ]
    assert [p.text for p in rec.points_for(date(2026, 11, 17))] == ["Late topic", "New topic"]


def test_migrate_notes_keeps_everything() -> None:
    notes = "# Alex\n\n- [ ] Send the deck\n- [x] Old thing\nfree text\n"
    rec = parse(migrate_notes("alex@example.com", "Alex", notes))
    assert [(i.text, i.done) for i in rec.items] == [("Send the deck", False), ("Old thing", True)]
    text = serialise(rec)
    assert notes in text.replace("### Notes migrated from notes/alex@example.com.md\n\n", "")


def test_meeting_block_from_an_agenda_context() -> None:
    ctx = {
        "meeting": {"when": "Tue 1 Dec 2026, 10:00–10:30"},
        "meeting_day": "2026-12-01",
        "booking_key": "one_on_one:alex@example.com:2026-W49",
        "period": "week of Mon 23 Nov 2026",
        "action_items": [
            {"text": "Send deck", "owner": "manager", "due": "Fri 20 Nov 2026", "overdue": True},
        ],
        "talking_points": [{"text": "Territory"}],
        "kpis": [
            {"name": "Calls", "latest": "38", "minimum": "50", "goal": "70", "status": "below",
             "weeks_below": 3},
        ],
    }  # fmt: skip
    key, body = meeting_block(ctx)
    assert key == "meeting/2026-12-01/one_on_one:alex@example.com:2026-W49"
    text = "\n".join(body)
    assert "- open OVERDUE: Send deck (manager, due Fri 20 Nov 2026)" in text
    assert "- Territory" in text and "Calls: 38 (minimum 50, goal 70, below standard 3 wk)" in text


# -- the property: any interleaving of people's edits and coachd's appends loses nothing ---------

_words = st.text(alphabet="abcdefghij KLMNOP", min_size=1, max_size=12).map(str.strip).filter(bool)
_ops = st.lists(
    st.one_of(
        st.tuples(st.just("human"), _words),
        st.tuples(st.just("item"), _words),
        st.tuples(st.just("point"), _words),
        st.tuples(st.just("note"), _words),
        st.tuples(st.just("block"), st.integers(0, 3), _words),
        st.tuples(st.just("tick"), st.integers(0, 20)),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(ops=_ops, crlf=st.booleans())
def test_edits_and_appends_interleaved_lose_nothing(
    ops: list[tuple[object, ...]], crlf: bool
) -> None:
    text = HUMAN.replace("\n", "\r\n") if crlf else HUMAN
    rec = parse(text)
    human: list[str] = []
    added: list[str] = []
    ticked: set[int] = set()
    blocks: dict[str, str] = {}
    for op in ops:
        kind = op[0]
        if kind == "human":  # a person appends a line at the end of the file in their editor
            body = serialise(rec)
            eol = "\r\n" if crlf else "\n"
            sep = "" if body.endswith(("\n", "\r")) else eol
            line = f"human wrote {op[1]}"
            rec = parse(body + sep + line + eol)
            human.append(line)
        elif kind == "item":
            rec = add_item(rec, Item(f"item {op[1]}", owner="rep", due=date(2026, 12, 1)))
            added.append(clean(f"item {op[1]}"))
        elif kind == "point":
            rec = add_point(rec, Item(f"point {op[1]}", added=date(2026, 12, 1)))
        elif kind == "note":
            rec = add_note(rec, date(2026, 12, 1), "manager", f"note {op[1]}")
        elif kind == "block":
            key = f"meeting/2026-12-0{int(str(op[1])) + 1}/k"
            rec = put_block(rec, MEETINGS, key, [f"block {op[2]}"])
            blocks[key] = clean(f"block {op[2]}")
        elif kind == "tick":
            opens = rec.open_items()
            if opens:
                item = opens[int(str(op[1])) % len(opens)]
                rec = tick(rec, item)
                ticked.add(item.line)
        # round trip is identity after every step
        assert parse(serialise(rec)) == rec
    final = serialise(rec)
    for line in parse(text).lines:  # every original line survives, apart from ticks
        stripped = line.rstrip("\r\n")
        assert stripped in final or stripped.replace("[ ]", "[x]", 1) in final
    for line in human:
        assert line in final
    assert all(any(i.text == a for i in rec.items) for a in added)
    for key, body in blocks.items():
        block = rec.block(key)
        assert block is not None and block.body == (body,)
    assert all(rec.sections[i][0] for i in range(len(rec.sections)))
    assert {s for s, _, _ in rec.sections} >= {ITEMS, POINTS, MEETINGS}
