"""`coachd plan` for people: actions grouped by kind with totals, times in the manager's
zone, one line per action with its reason wrapped underneath, colour only on a terminal.

Colour follows the usual conventions: none when stdout is not a TTY, when NO_COLOR is set
(https://no-color.org, any non-empty value) or when TERM is `dumb`. A handful of ANSI codes
is all this needs, so there is no dependency for it.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TextIO

from planner.actions import (
    Action,
    Book,
    Cancel,
    Decline,
    Flag,
    Hold,
    Keep,
    Move,
    Notice,
    OpenCase,
    RecordEdit,
    Remember,
    SendEmail,
)

KIND_TITLES = {
    "one_on_one": "One-on-ones",
    "ride_along": "Ride-alongs",
    "huddle": "Huddles",
    "sales_meeting": "Sales meetings",
    "call_review": "Call reviews",
}
_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


def use_color(stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set or TERM is dumb."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    return stream.isatty()


@dataclass(frozen=True)
class Style:
    """Wraps text in ANSI codes, or leaves it alone when colour is off."""

    color: bool

    def __call__(self, text: str, *names: str) -> str:
        if not self.color or not names:
            return text
        codes = ";".join(_CODES[n] for n in names)
        return f"\x1b[{codes}m{text}\x1b[0m"


def _when(start: datetime, end: datetime | None, tz: tzinfo) -> str:
    s = start.astimezone(tz)
    text = f"{s:%a} {s.day} {s:%b %H:%M}"
    if end is not None:
        e = end.astimezone(tz)
        text += "–" + (e.strftime("%H:%M") if e.date() == s.date() else e.strftime("%a %H:%M"))
    return text


def format_plan(
    actions: Sequence[Action],
    warnings: Sequence[str],
    tz: tzinfo,
    *,
    color: bool = False,
    width: int = 100,
) -> str:
    """The whole `coachd plan` output as text (ends with a totals line)."""
    st = Style(color)
    width = max(60, width)
    lines: list[str] = []

    def item(head: str, reason: str, *styles: str) -> None:
        lines.append("  " + st(head, *styles))
        if reason:
            for part in textwrap.wrap(reason, width=width - 6):
                lines.append("      " + st(part, "dim"))

    def group(title: str, count: int) -> None:
        if lines:
            lines.append("")
        lines.append(st(f"{title} ({count})", "bold"))

    for w in warnings:
        lines.append(st("warning: ", "yellow", "bold") + w)
    holds = [a for a in actions if isinstance(a, Hold)]
    for h in holds:
        group("Safety brake: no changes this tick", 1)
        item("coachd holds every write", h.reason, "red", "bold")

    books = [a for a in actions if isinstance(a, Book)]
    by_kind: dict[str, list[Book]] = {}
    for b in sorted(books, key=lambda b: b.start):
        by_kind.setdefault(b.kind, []).append(b)
    order = [*KIND_TITLES, *sorted(set(by_kind) - set(KIND_TITLES))]
    for kind in order:
        if kind not in by_kind:
            continue
        group(f"Book: {KIND_TITLES.get(kind, kind)}", len(by_kind[kind]))
        for b in by_kind[kind]:
            item(f"{_when(b.start, b.end, tz)}  {b.title}", b.reason, "green")

    moves = [a for a in actions if isinstance(a, Move)]
    if moves:
        group("Move", len(moves))
        for m in moves:
            item(f"{_when(m.start, m.end, tz)}  {m.key}", m.reason, "cyan")
    cancels = [a for a in actions if isinstance(a, Cancel)]
    if cancels:
        group("Cancel", len(cancels))
        for c in cancels:
            item(c.key, c.reason, "red")

    triage = [a for a in actions if isinstance(a, Decline | Flag)]
    if triage:
        group("Triage", len(triage))
        for t in sorted(triage, key=lambda t: t.start):
            verb = (
                "Delegate"
                if isinstance(t, Decline) and t.delegate_to
                else ("Decline" if isinstance(t, Decline) else "Flag")
            )
            style = "red" if isinstance(t, Decline) else "yellow"
            when = _when(t.start, None, tz)
            head = f"{verb:<8} {when}  {t.title!r} from {t.organizer}"
            item(head, f"[{t.rule}] {t.reason}", style)
    keeps = [a for a in actions if isinstance(a, Keep)]
    if keeps:
        group("Leave alone (decided once)", len(keeps))
        for k in sorted(keeps, key=lambda k: k.start):
            item(f"{_when(k.start, None, tz)}  {k.title!r} from {k.organizer}", k.reason)

    emails = [a for a in actions if isinstance(a, SendEmail)]
    if emails:
        kinds = Counter(e.kind for e in emails)
        group("Email: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())), len(emails))
        for e in emails:
            to = ", ".join(e.to) if len(e.to) <= 2 else f"{e.to[0]} and {len(e.to) - 1} others"
            item(f"{e.kind:<14} to {to}", e.reason)

    remembers = [a for a in actions if isinstance(a, Remember)]
    if remembers:
        group("Remember (no calendar change)", len(remembers))
        for r in remembers:
            item(f"{r.key} is {r.status}", r.reason)

    edits = [a for a in actions if isinstance(a, RecordEdit)]
    if edits:
        group("Coaching records (mail)", len(edits))
        for ed in edits:
            item(f"{ed.rep}: {ed.who} added by mail", ed.reason)
    opening = [a for a in actions if isinstance(a, OpenCase)]
    if opening:
        group("Coaching cases to open", len(opening))
        for oc in opening:
            item(f"{oc.kind} case for {oc.rep}, opened {oc.opened}", oc.reason)

    notices = [a for a in actions if isinstance(a, Notice)]
    if notices:
        group("Notices", len(notices))
        for n in notices:
            wrapped = textwrap.wrap(n.reason, width=width - 4) or [""]
            lines.append("  " + st(wrapped[0], "yellow"))
            lines.extend("    " + st(part, "yellow") for part in wrapped[1:])

    if not actions:
        lines.append("Nothing to do.")
    lines.append("")
    lines.append(st(totals(actions), "bold"))
    return "\n".join(lines)


def totals(actions: Sequence[Action]) -> str:
    """`Total: 29 bookings, 7 flags, 30 emails, 3 notices` (only what is there)."""
    names = [
        (Book, "booking", "bookings"),
        (Move, "move", "moves"),
        (Cancel, "cancellation", "cancellations"),
        (Decline, "decline", "declines"),
        (Flag, "flag", "flags"),
        (SendEmail, "email", "emails"),
        (Notice, "notice", "notices"),
        (Hold, "safety brake", "safety brakes"),
    ]
    parts = []
    for cls, one, many in names:
        n = sum(1 for a in actions if isinstance(a, cls))
        if n:
            parts.append(f"{n} {one if n == 1 else many}")
    return "Total: " + (", ".join(parts) if parts else "nothing to do")


def terminal_width() -> int:
    """The terminal's width, or 100 columns when output is not a terminal."""
    return shutil.get_terminal_size((100, 24)).columns
