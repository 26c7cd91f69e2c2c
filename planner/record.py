"""The coaching record of one rep: a Markdown file the manager owns (parse, edit, serialise).

The file is front matter (`key: value` lines between `---`) and `## ` sections: Goals,
Action items, Talking points, Meeting notes, Coaching cases. A `Record` keeps the file's
lines as they are and derives its goals, items and blocks from them, so serialising a record
gives back the very text it was parsed from, and every edit here is a small change to a few
lines: a new line at the end of a section, `[ ]` turned into `[x]`, or the inside of one of
coachd's own marked blocks (`<!-- coachd:begin KEY -->` ... `<!-- coachd:end KEY -->`).
Nothing a person wrote is reformatted. Pure: no file, clock or network.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

GOALS = "Goals"
ITEMS = "Action items"
POINTS = "Talking points"
MEETINGS = "Meeting notes"
CASES = "Coaching cases"
SECTIONS = (GOALS, ITEMS, POINTS, MEETINGS, CASES)
OWNERS = ("manager", "rep")
GOAL_STATUSES = ("open", "met", "dropped")

_HEADING = re.compile(r"^##\s+(.+?)\s*#*\s*$")
_ITEM = re.compile(r"^(?P<indent>\s*)[-*+]\s+\[(?P<mark>[ xX])\]\s+(?P<body>.*?)\s*$")
_BULLET = re.compile(r"^(?P<indent>\s*)[-*+]\s+(?P<body>.*?)\s*$")
_META = re.compile(r"^(?P<text>.*?)\s*\((?P<meta>[^()]*)\)$")
_PAIR = re.compile(r"^\s*([a-z]+)\s*:\s*(.*?)\s*$")
_BEGIN = re.compile(r"^<!-- coachd:begin (?P<key>\S+) -->\s*$")
_END = re.compile(r"^<!-- coachd:end (?P<key>\S+) -->\s*$")
_HISTORY = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*:?\s*(.*)$")
_ITEM_KEYS = frozenset({"owner", "due", "added", "from"})
_GOAL_KEYS = frozenset({"agreed", "target", "status"})
MAX_TEXT = 300


def _day(s: str | None) -> date | None:
    if not s:
        return None
    try:
        return date.fromisoformat(s.strip())
    except ValueError:
        return None


def _meta(body: str, keys: frozenset[str]) -> tuple[str, dict[str, str]]:
    """Split `text (k: v, k: v)` into text and pairs; parentheses that are not all known
    `key: value` pairs belong to the text."""
    m = _META.match(body)
    if not m:
        return body, {}
    pairs: dict[str, str] = {}
    for part in re.split(r"[,;]", m.group("meta")):
        p = _PAIR.match(part)
        if not p or p.group(1) not in keys:
            return body, {}
        pairs[p.group(1)] = p.group(2)
    return m.group("text"), pairs


@dataclass(frozen=True)
class Item:
    """An action item or a talking point (`- [ ] text (owner: rep, due: 2026-12-04)`)."""

    text: str
    done: bool = False
    owner: str | None = None
    due: date | None = None
    added: date | None = None
    by: str | None = None
    line: int = -1

    def overdue(self, on: date) -> bool:
        """Open and due before `on`."""
        return not self.done and self.due is not None and self.due < on


@dataclass(frozen=True)
class Goal:
    """`- text (agreed: D, target: D, status: open)`, its history on indented `- D: ...` lines."""

    text: str
    agreed: date | None = None
    target: date | None = None
    status: str = "open"
    history: tuple[tuple[date, str], ...] = ()


CASE_KINDS = ("coach-up", "coach-out")
OUTCOMES = ("open", "improved", "extended", "escalated", "closed")
OPEN_OUTCOMES = ("open", "extended")
_CASE = re.compile(r"^###\s+Case\b.*?\b(coach-up|coach-out)\b.*?(\d{4}-\d{2}-\d{2})", re.I)
_CASE_KEY = re.compile(r"^[-*+]\s+(trigger|outcome|checkpoint)\s*:\s*(.*?)\s*$", re.I)


@dataclass(frozen=True)
class Case:
    """A coach-up or coach-out case: `### Case: coach-out, opened 2026-11-30`, then
    `- trigger: ...`, `- outcome: open`, `- checkpoint: DATE` lines and plan items
    (`- [ ] action (due: DATE)`). Open while its outcome is open or extended: only the
    manager changes that."""

    kind: str
    opened: date
    trigger: str = ""
    outcome: str = "open"
    checkpoints: tuple[date, ...] = ()
    plan: tuple[Item, ...] = ()
    line: int = -1

    @property
    def is_open(self) -> bool:
        return self.outcome in OPEN_OUTCOMES


@dataclass(frozen=True)
class Block:
    """One of coachd's marked blocks: its key, section and the lines between the markers."""

    key: str
    section: str
    body: tuple[str, ...]
    begin: int
    end: int


@dataclass(frozen=True)
class Record:
    """One rep's record: the file's lines (with their endings) and what they say."""

    lines: tuple[str, ...]
    front: tuple[tuple[str, str], ...]
    goals: tuple[Goal, ...]
    items: tuple[Item, ...]
    points: tuple[Item, ...]
    blocks: tuple[Block, ...]
    sections: tuple[tuple[str, int, int], ...]  # (name, heading line, end line exclusive)
    cases: tuple[Case, ...] = ()

    def field(self, key: str) -> str | None:
        return next((v for k, v in self.front if k == key), None)

    def open_case(self, kind: str | None = None) -> Case | None:
        """The latest open case (of `kind`, when given)."""
        found = [c for c in self.cases if c.is_open and (kind is None or c.kind == kind)]
        return found[-1] if found else None

    def block(self, key: str) -> Block | None:
        return next((b for b in self.blocks if b.key == key), None)

    def open_items(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if not i.done)

    def meeting_days(self) -> tuple[date, ...]:
        """The days of the one-on-ones coachd wrote a meeting block for (`meeting/DAY/...`)."""
        out = []
        for b in self.blocks:
            parts = b.key.split("/")
            if parts[0] == "meeting" and len(parts) > 1 and (d := _day(parts[1])):
                out.append(d)
        return tuple(sorted(out))

    def points_for(self, meeting_day: date) -> tuple[Item, ...]:
        """The open talking points for the one-on-one on `meeting_day`: those not yet on the
        agenda of an earlier one-on-one (its meeting block lists them), so a point shows on
        the first agenda that goes out after it was added, whenever that is."""
        shown_before = {
            line
            for b in self.blocks
            if b.section == MEETINGS and (d := _block_day(b.key)) is not None and d < meeting_day
            for line in b.body
        }
        return tuple(p for p in self.points if not p.done and f"- {p.text}" not in shown_before)


def _block_day(key: str) -> date | None:
    parts = key.split("/")
    return _day(parts[1]) if parts[0] == "meeting" and len(parts) > 1 else None


def serialise(record: Record) -> str:
    return "".join(record.lines)


def parse(text: str) -> Record:
    """Read a record; any text is accepted (what is not understood is kept, not used)."""
    lines = tuple(text.splitlines(keepends=True))
    front: list[tuple[str, str]] = []
    start = 0
    if lines and lines[0].rstrip("\r\n") == "---":
        for i in range(1, len(lines)):
            raw = lines[i].rstrip("\r\n")
            if raw == "---":
                start = i + 1
                break
            if p := re.match(r"^([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$", raw):
                front.append((p.group(1), p.group(2)))
        else:
            front = []  # no closing line: not front matter
    sections: list[tuple[str, int, int]] = []
    for i in range(start, len(lines)):
        if m := _HEADING.match(lines[i].rstrip("\r\n")):
            if sections:
                name, h, _ = sections[-1]
                sections[-1] = (name, h, i)
            sections.append((_canonical(m.group(1)), i, len(lines)))
    goals: list[Goal] = []
    items: list[Item] = []
    points: list[Item] = []
    blocks: list[Block] = []
    for name, h, end in sections:
        i = h + 1
        while i < end:
            raw = lines[i].rstrip("\r\n")
            if b := _BEGIN.match(raw):
                j = next(
                    (
                        j
                        for j in range(i + 1, end)
                        if (e := _END.match(lines[j].rstrip("\r\n"))) and e.group("key") == b["key"]
                    ),
                    None,
                )
                if j is not None:
                    body = tuple(x.rstrip("\r\n") for x in lines[i + 1 : j])
                    blocks.append(Block(b["key"], name, body, i, j))
                    i = j + 1
                    continue
            if name in (ITEMS, POINTS) and (m := _ITEM.match(raw)) and not m["indent"]:
                item = _item(m, i)
                (items if name == ITEMS else points).append(item)
            elif name == GOALS and (g := _BULLET.match(raw)):
                if not g["indent"]:
                    goals.append(_goal(g["body"]))
                elif goals and (hm := _HISTORY.match(g["body"])) and (d := _day(hm.group(1))):
                    last = goals[-1]
                    goals[-1] = Goal(
                        last.text,
                        last.agreed,
                        last.target,
                        last.status,
                        (*last.history, (d, hm.group(2))),
                    )
            i += 1
    return Record(
        lines, tuple(front), tuple(goals), tuple(items), tuple(points), tuple(blocks),
        tuple(sections), _cases(lines, sections),
    )  # fmt: skip


def _cases(lines: Sequence[str], sections: Sequence[tuple[str, int, int]]) -> tuple[Case, ...]:
    out: list[Case] = []
    for name, h, end in sections:
        if name != CASES:
            continue
        for i in range(h + 1, end):
            raw = lines[i].rstrip("\r\n")
            if m := _CASE.match(raw):
                if (d := _day(m.group(2))) is not None:
                    out.append(Case(m.group(1).lower(), d, line=i))
                continue
            if not out or raw.startswith("### "):
                continue
            c = out[-1]
            if k := _CASE_KEY.match(raw):
                key, value = k.group(1).lower(), k.group(2)
                if key == "trigger" and not c.trigger:
                    c = Case(
                        c.kind, c.opened, value[:MAX_TEXT], c.outcome, c.checkpoints, c.plan, c.line
                    )
                elif key == "outcome":
                    word = value.split()[0].lower().strip(".,;") if value.split() else "open"
                    outcome = word if word in OUTCOMES else c.outcome
                    c = Case(c.kind, c.opened, c.trigger, outcome, c.checkpoints, c.plan, c.line)
                elif key == "checkpoint" and (d := _day(value[:10])) is not None:
                    c = Case(
                        c.kind, c.opened, c.trigger, c.outcome, (*c.checkpoints, d), c.plan, c.line
                    )
            elif (it := _ITEM.match(raw)) and not it["indent"]:
                c = Case(
                    c.kind,
                    c.opened,
                    c.trigger,
                    c.outcome,
                    c.checkpoints,
                    (*c.plan, _item(it, i)),
                    c.line,
                )
            out[-1] = c
    return tuple(out)  # fmt: skip


def _canonical(title: str) -> str:
    low = title.strip().lower()
    return next((s for s in SECTIONS if s.lower() == low), title.strip())


def _item(m: re.Match[str], line: int) -> Item:
    text, meta = _meta(m["body"], _ITEM_KEYS)
    owner = meta.get("owner", "").lower() or None
    return Item(
        text=text[:MAX_TEXT],
        done=m["mark"] != " ",
        owner=owner if owner in OWNERS else None,
        due=_day(meta.get("due")),
        added=_day(meta.get("added")),
        by=meta.get("from") or None,
        line=line,
    )


def _goal(body: str) -> Goal:
    text, meta = _meta(body, _GOAL_KEYS)
    status = meta.get("status", "open").lower()
    return Goal(
        text=text[:MAX_TEXT],
        agreed=_day(meta.get("agreed")),
        target=_day(meta.get("target")),
        status=status if status in GOAL_STATUSES else "open",
    )


# -- writing ---------------------------------------------------------------------------------


def clean(text: str) -> str:
    """One line of outside text, safe to put in the file: no line breaks, no control or
    bidi-override characters, no marker look-alikes, at most MAX_TEXT characters."""
    out = "".join(
        " " if ch in "\r\n\t\v\f\u2028\u2029" else ch
        for ch in text
        if ch in "\r\n\t" or (ord(ch) >= 32 and ch != "\x7f" and not _bidi(ch))
    )
    out = " ".join(out.split()).replace("<!--", "<! --").replace("-->", "-- >")
    return out[:MAX_TEXT]


def _bidi(ch: str) -> bool:
    return "\u202a" <= ch <= "\u202e" or "\u2066" <= ch <= "\u2069" or ch in "\u200e\u200f"


def item_line(item: Item) -> str:
    """How coachd writes an item: `- [ ] text (owner: rep, due: 2026-12-04)`."""
    meta = []
    if item.owner:
        meta.append(f"owner: {item.owner}")
    if item.due:
        meta.append(f"due: {item.due.isoformat()}")
    if item.by:
        meta.append(f"from: {item.by}")
    if item.added:
        meta.append(f"added: {item.added.isoformat()}")
    tail = f" ({', '.join(meta)})" if meta else ""
    return f"- [{'x' if item.done else ' '}] {clean(item.text)}{tail}"


def _eol(record: Record) -> str:
    return "\r\n" if record.lines and record.lines[0].endswith("\r\n") else "\n"


def _section_end(record: Record, name: str) -> int | None:
    """Where a new line goes in section `name`: after its last non-blank line."""
    for sname, h, end in record.sections:
        if sname == name:
            i = end
            while i > h + 1 and not record.lines[i - 1].strip():
                i -= 1
            return i
    return None


def _insert(record: Record, name: str, new: Sequence[str]) -> Record:
    """Insert lines at the end of section `name`, adding the section (at the end) if missing."""
    eol = _eol(record)
    lines = list(record.lines)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += eol
    at = _section_end(record, name)
    added = [x + eol for x in new]
    if at is None:
        if lines and lines[-1].strip():
            lines.append(eol)
        lines += [f"## {name}{eol}", eol, *added]
    else:
        heading = next(h for n, h, _ in record.sections if n == name)
        blank_first = bool(new) and not new[0].strip()
        lines[at:at] = [eol, *added] if at == heading + 1 and not blank_first else added
    return parse("".join(lines))


def add_item(record: Record, item: Item) -> Record:
    """A new open action item at the end of the Action items section."""
    return _insert(record, ITEMS, [item_line(item)])


def add_point(record: Record, point: Item) -> Record:
    """A new talking point at the end of the Talking points section."""
    return _insert(record, POINTS, [item_line(point)])


def add_note(record: Record, day: date, who: str, text: str) -> Record:
    """A note under Meeting notes: `- 2026-12-02 (manager, by mail): text`."""
    return _insert(record, MEETINGS, [f"- {day.isoformat()} ({who}, by mail): {clean(text)}"])


def find_open(record: Record, text: str) -> Item | None:
    """The open action item (or talking point) whose text matches `text`: equal ignoring case
    and spacing, else the only one that starts with it."""
    want = " ".join(text.lower().split())
    if not want:
        return None
    plans = [i for c in record.cases if c.is_open for i in c.plan]
    pool = [i for i in (*record.items, *record.points, *plans) if not i.done]
    exact = [i for i in pool if " ".join(i.text.lower().split()) == want]
    if exact:
        return exact[0]
    starts = [i for i in pool if " ".join(i.text.lower().split()).startswith(want)]
    return starts[0] if len(starts) == 1 else None


def tick(record: Record, item: Item) -> Record:
    """Mark `item` done: `[ ]` becomes `[x]` on its line, nothing else on it changes."""
    lines = list(record.lines)
    line = lines[item.line]
    m = _ITEM.match(line.rstrip("\r\n"))
    if m is None or m["mark"] != " ":
        return record
    pos = line.index("[ ]")
    lines[item.line] = line[:pos] + "[x]" + line[pos + 3 :]
    return parse("".join(lines))


def put_block(
    record: Record, section: str, key: str, body: Sequence[str], tail: Sequence[str] = ()
) -> Record:
    """Write coachd's block `key`: replace what is between its markers if it exists, else
    append it at the end of `section` (followed by `tail`, lines for a person to write
    under, which are theirs from then on). Lines outside the block are never changed."""
    safe = [clean(x) if x.strip() else "" for x in body]
    existing = record.block(key)
    eol = _eol(record)
    if existing is None:
        return _insert(
            record,
            section,
            [
                "",
                f"<!-- coachd:begin {key} -->",
                *safe,
                f"<!-- coachd:end {key} -->",
                *(clean(x) for x in tail),
            ],
        )
    lines = list(record.lines)
    lines[existing.begin + 1 : existing.end] = [x + eol for x in safe]
    return parse("".join(lines))


def case_lines(case: Case) -> list[str]:
    """How coachd writes a new case (the manager owns it from then on)."""
    out = [
        "",
        f"### Case: {case.kind}, opened {case.opened.isoformat()}",
        "",
        f"- trigger: {clean(case.trigger)}",
        "- outcome: open (set it to improved, extended, escalated or closed: "
        "coachd never closes a case)",
    ]
    out += [f"- checkpoint: {d.isoformat()}" for d in case.checkpoints]
    out += ["", "Plan:"]
    out += [item_line(i) for i in case.plan]
    return out


def open_case(record: Record, case: Case) -> Record:
    """The record with `case` added at the end of Coaching cases, unless a case of that kind
    is already open (so writing it twice adds it once)."""
    if record.open_case(case.kind) is not None:
        return record
    return _insert(record, CASES, case_lines(case))


def new_record(rep: str, name: str) -> str:
    """The text of a fresh record."""
    return (
        f"---\nrep: {rep}\nname: {clean(name)}\n---\n\n# Coaching record: {clean(name)}\n\n"
        "## Goals\n\n## Action items\n\n## Talking points\n\n## Meeting notes\n\n"
        "## Coaching cases\n"
    )


def migrate_notes(rep: str, name: str, notes: str) -> str:
    """A record made from an old `notes/<rep>.md`: its `- [ ]`/`- [x]` lines become action
    items, and the whole file is kept word for word under Meeting notes."""
    record = parse(new_record(rep, name))
    for line in notes.splitlines():
        m = _ITEM.match(line)
        if m and not m["indent"]:
            record = _insert(record, ITEMS, [line.strip()])
    kept = ["### Notes migrated from notes/" + rep + ".md", "", *notes.splitlines()]
    return serialise(_insert(record, MEETINGS, kept))


def meeting_block(ctx: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The block coachd appends under Meeting notes before a one-on-one, from its agenda's
    context: the carried items, the rep's talking points and the KPI snapshot. Its key
    (`meeting/DAY/BOOKING KEY`) makes writing it twice a no-op."""
    meeting = ctx.get("meeting")
    when = meeting.get("when", "") if isinstance(meeting, dict) else ""
    key = f"meeting/{ctx.get('meeting_day', '')}/{ctx.get('booking_key', '')}"
    key = re.sub(r"\s", "_", key)
    body = [f"### One-on-one {when} (written by coachd before the meeting)", ""]
    items = ctx.get("action_items")
    body.append("Carried action items:")
    rows = items if isinstance(items, list) else []
    for i in rows:
        flag = " OVERDUE" if i.get("overdue") else ""
        due = f", due {i['due']}" if i.get("due") else ""
        who = f" ({i['owner'] or 'owner not set'}{due})" if i.get("owner") or due else ""
        body.append(f"- open{flag}: {i['text']}{who}")
    if not rows:
        body.append("- none open")
    case = ctx.get("case")
    if isinstance(case, dict):
        mark = " (this one-on-one is its checkpoint)" if case.get("checkpoint") else ""
        body.append(f"Open {case['kind']} case, opened {case['opened']}{mark}:")
        body += [f"- plan: {p['text']} (due {p['due']})" for p in case.get("plan", [])]
    points = ctx.get("talking_points")
    if isinstance(points, list) and points:
        body.append("Talking points:")
        body += [f"- {p['text']}" for p in points]
    kpis = ctx.get("kpis")
    body.append("KPI snapshot" + (f" ({ctx['period']})" if ctx.get("period") else "") + ":")
    for k in kpis if isinstance(kpis, list) else []:
        below = f", below standard {k['weeks_below']} wk" if k.get("status") == "below" else ""
        body.append(
            f"- {k['name']}: {k['latest']} (minimum {k['minimum']}, goal {k['goal']}{below})"
        )
    return key, body


MEETING_TAIL = ("", "Notes:", "")
