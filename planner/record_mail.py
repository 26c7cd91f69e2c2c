"""Mail into the coaching record (pure): talking points from reps, ticks, items and notes from
the manager.

A message counts only when it comes from the manager or from the rep it concerns:

- a rep (replying to their agenda, or writing to coachd's address): each `- ` line becomes a
  talking point on their next one-on-one;
- the manager (replying to a rep's agenda, or with the rep's address or full name in the
  subject): `[x] item text` ticks an open item (or talking point), `- [ ] text (owner: rep,
  due: 2026-12-09)` adds an action item, `note: text` adds a note, `- text` a talking point.

Reading stops at quoted text (`>`), an "On ... wrote:" line or a signature. Mail from anyone
else, from a rep about another rep, or answering a digest is ignored (and counted). A message
that counts but where nothing was understood, or where a tick or an item could not be
carried out, gets one polite answer saying what was understood. Mail never changes the
policy: it only adds lines to one rep's record or ticks boxes there.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from planner.actions import Action, Processed, RecordEdit, SendEmail
from planner.contexts import person
from planner.ids import message_id
from planner.model import Reply, Snapshot
from planner.policy import Policy
from planner.record import (
    ITEMS,
    OWNERS,
    Item,
    Record,
    add_item,
    add_note,
    add_point,
    clean,
    find_open,
    tick,
)
from planner.text import shown

NAMESPACE = "record"
MAX_LINES = 200
MAX_PER_MAIL = 30
_STOP = re.compile(r"^(>|on .{0,200} wrote:?$|-- ?$|-----\s*original message|from:\s)", re.I)
_TICK = re.compile(r"^(?:[-*+]\s+)?\[[xX]\]\s+(.+)$")
_ADD = re.compile(r"^(?:[-*+]\s+)?\[ \]\s+(.+)$")
_NOTE = re.compile(r"^notes?\s*:\s*(.+)$", re.I)
_POINT = re.compile(r"^[-*+•]\s+(.+)$")
_META = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*$")


def apply_edit(record: Record, edit: RecordEdit) -> Record:
    """The record with `edit` in it. Lines already there (the same text) are not added again,
    so a message handled twice after a crash leaves one copy."""
    day = date.fromisoformat(edit.day)
    texts = {" ".join(i.text.lower().split()) for i in (*record.items, *record.points)}

    def new(text: str) -> bool:
        key = " ".join(clean(text).lower().split())
        if key in texts:
            return False
        texts.add(key)
        return True

    for text in edit.ticks:
        item = find_open(record, text)
        if item is not None:
            record = tick(record, item)
    for text, owner, due in edit.items:
        if new(text):
            item = Item(text, owner=owner or None, due=date.fromisoformat(due) if due else None)
            record = add_item(record, item)
    for text in edit.points:
        if new(text):
            record = add_point(record, Item(text, by=edit.who, added=day))
    notes = "".join(record.lines)
    for text in edit.notes:
        if clean(text) not in notes:
            record = add_note(record, day, edit.who, text)
    return record


@dataclass
class _Parsed:
    points: list[str]
    ticks: list[str]
    items: list[tuple[str, str, str]]
    notes: list[str]
    understood: list[str]
    not_done: list[str]
    unknown: list[str]


def parse_mail(text: str, who: str, record: Record | None) -> _Parsed:
    """Read the lines of a message from `who` ("manager" or "rep") against the rep's record."""
    p = _Parsed([], [], [], [], [], [], [])
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[:MAX_LINES]:
        line = " ".join(shown(raw, 400).split())
        if not line:
            continue
        if _STOP.match(line):
            break
        if len(p.understood) + len(p.not_done) >= MAX_PER_MAIL:
            break
        if who == "manager" and (m := _TICK.match(line)):
            want = m.group(1)
            item = find_open(record, want) if record is not None else None
            if item is None:
                p.not_done.append(f"{shown(want, 80)!r}: no open item matches it")
            else:
                p.ticks.append(item.text)
                p.understood.append(f"ticked: {item.text}")
        elif who == "manager" and (m := _ADD.match(line)):
            got = _new_item(m.group(1))
            if isinstance(got, str):
                p.not_done.append(got)
            else:
                p.items.append(got)
                owner = f", owner {got[1]}" if got[1] else ""
                due = f", due {got[2]}" if got[2] else ""
                p.understood.append(f"new action item: {got[0]}{owner}{due}")
        elif who == "manager" and (m := _NOTE.match(line)):
            p.notes.append(clean(m.group(1)))
            p.understood.append(f"note: {clean(m.group(1))}")
        elif m := _POINT.match(line):
            text = clean(m.group(1))
            if text:
                p.points.append(text)
                p.understood.append(f"talking point: {text}")
        else:
            p.unknown.append(shown(raw, 80))
    return p


def _new_item(body: str) -> tuple[str, str, str] | str:
    """(text, owner, due) from `text (owner: rep, due: 2026-12-09)`, or why it was refused."""
    text, owner, due = body, "", ""
    m = _META.match(body)
    if m and ":" in m.group(2):
        text = m.group(1)
        for part in re.split(r"[,;]", m.group(2)):
            k, _, v = part.partition(":")
            k, v = k.strip().lower(), v.strip()
            if k == "owner":
                if v.lower() not in OWNERS:
                    return f"{shown(body, 80)!r}: the owner must be manager or rep"
                owner = v.lower()
            elif k == "due":
                try:
                    due = date.fromisoformat(v).isoformat()
                except ValueError:
                    return f"{shown(body, 80)!r}: the due date must read like 2026-12-09"
            else:
                return f"{shown(body, 80)!r}: only owner and due go in the brackets"
    text = clean(text)
    if not text:
        return f"{shown(body, 80)!r}: no text for the item"
    return text, owner, due


def _agenda_rep(policy: Policy, snapshot: Snapshot, reply: Reply) -> str | None:
    """The rep whose agenda this message answers (by In-Reply-To/References), or None."""
    domain = policy.email.sender.rsplit("@", 1)[1]
    manager = policy.manager.email
    for key in snapshot.sent:
        parts = key.split(":")
        if (
            parts[0] == "agenda"
            and len(parts) >= 3
            and message_id(manager, key, domain) in reply.refs
        ):
            return parts[2]
    return None


def _answers_digest(policy: Policy, snapshot: Snapshot, reply: Reply) -> bool:
    domain = policy.email.sender.rsplit("@", 1)[1]
    manager = policy.manager.email
    ids = {message_id(manager, k, domain) for k in snapshot.digest_numbers}
    ids |= {message_id(manager, k, domain) for k in snapshot.sent if k.startswith("digest:")}
    return any(r in ids for r in reply.refs)


def _subject_rep(policy: Policy, subject: str) -> str | None:
    """The one rep the subject names by address or full name, else None."""
    low = " ".join(subject.lower().split())
    named = {
        r.email
        for r in policy.team
        if r.email in low or (r.name and len(r.name) > 2 and r.name.lower() in low)
    }
    return named.pop() if len(named) == 1 else None


def plan_record_mail(policy: Policy, snapshot: Snapshot, now: datetime) -> list[Action]:
    """RecordEdit, answer and Processed actions for the inbox messages not handled yet (see
    the module docstring)."""
    out: list[Action] = []
    manager = policy.manager.email
    reps = {r.email for r in policy.team}
    day = now.astimezone(policy.manager.tz).date().isoformat()
    for reply in snapshot.record_mail:
        sender = reply.sender.strip().lower()
        if sender != manager and sender not in reps:
            out.append(_ignored(reply, f"from {shown(sender, 80)}, not you or one of your reps"))
            continue
        if _answers_digest(policy, snapshot, reply):
            out.append(_ignored(reply, "it answers a digest (handled there)"))
            continue
        about = _agenda_rep(policy, snapshot, reply)
        if sender == manager:
            who, rep = "manager", about or _subject_rep(policy, reply.subject)
        else:
            who, rep = "rep", sender
            if about is not None and about != sender:
                out.append(_ignored(reply, "a rep wrote about another rep's one-on-one"))
                continue
        record = snapshot.records.get(rep) if rep else None
        parsed = parse_mail(reply.text, who, record)
        if rep is None:
            out.append(_answer(policy, reply, sender, None, [], ["which rep it is about"], []))
            out.append(_ignored(reply, "no rep named", counted=False))
            continue
        edit = RecordEdit(
            rep=rep,
            message_id=reply.message_id,
            who=who,
            day=day,
            points=tuple(parsed.points),
            ticks=tuple(parsed.ticks),
            items=tuple(parsed.items),
            notes=tuple(parsed.notes),
            reason=f"{who} {sender} wrote: " + "; ".join(parsed.understood)[:300],
        )
        if parsed.understood:
            out.append(edit)
        if not parsed.understood or parsed.not_done:
            out.append(
                _answer(policy, reply, sender, rep, parsed.understood, parsed.not_done,
                        parsed.unknown)
            )  # fmt: skip
        out.append(
            Processed(
                reply.message_id,
                f"record of {rep}: {len(parsed.understood)} change(s) by mail",
                namespace=NAMESPACE,
            )
        )
    return out


def _ignored(reply: Reply, why: str, *, counted: bool = True) -> Processed:
    return Processed(reply.message_id, f"ignored: {why}", namespace=NAMESPACE, ignored=counted)


def _answer(
    policy: Policy,
    reply: Reply,
    to: str,
    rep: str | None,
    understood: Sequence[str],
    not_done: Sequence[str],
    unknown: Sequence[str],
) -> SendEmail:
    digest = hashlib.sha256(reply.message_id.encode()).hexdigest()[:16]
    return SendEmail(
        key=f"record_reply:{digest}",
        kind="record_reply",
        to=(to,),
        context=record_reply_context(policy, reply, to, rep, understood, not_done, unknown),
        reason=f"answer a message to the record: {len(understood)} understood, "
        f"{len(not_done)} not done",
    )


def record_reply_context(
    policy: Policy,
    reply: Reply,
    to: str,
    rep: str | None,
    understood: Sequence[str],
    not_done: Sequence[str],
    unknown: Sequence[str],
) -> dict[str, Any]:
    """Context of `record_reply`: what coachd understood of a message to a coaching record."""
    r = policy.rep(rep) if rep else None
    reader = policy.rep(to)
    return {
        "manager": person(policy.manager.name, policy.manager.email),
        "reader": person(reader.name if reader else policy.manager.name, to),
        "to_manager": to == policy.manager.email,
        "rep": person(r.name, r.email) if r else None,
        "subject": shown(reply.subject, 120),
        "understood": list(understood),
        "not_done": list(not_done),
        "unknown": list(unknown)[:10],
        "section": ITEMS,
    }


def sample_context(kind: str) -> dict[str, Any]:
    """A realistic context for `record_reply` (preview and the template check)."""
    if kind != "record_reply":
        raise KeyError(kind)
    policy = Policy.model_validate(
        {
            "manager": {"name": "Dana Reyes", "email": "dana@example.com", "timezone": "UTC"},
            "team": [{"name": "Jordan Miles", "email": "jordan@example.com"}],
        }
    )
    reply = Reply("<r1@example.com>", "dana@example.com", "Re: 1:1 agenda: Jordan Miles")
    return record_reply_context(
        policy,
        reply,
        "dana@example.com",
        "jordan@example.com",
        ["ticked: Send the call planning sheet"],
        ["'Call Acme': no open item matches it"],
        ["Thanks, see you Tuesday"],
    )
