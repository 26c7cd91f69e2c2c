"""Which emails are due this tick, with their template contexts. Pure: `now` is an argument.

Every email has a key that is unique for all time (`agenda:<booking key>`, `summary:2026-W48`,
`digest:2026-11-26`, `sales_meeting:<booking key>`, `config_error:<hash>`); a key already in
`snapshot.sent` is never planned again, so a restart never resends.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from planner.actions import SendEmail
from planner.audit import sample_events
from planner.contexts import (
    Block,
    BookedBlock,
    agenda_context,
    config_error_context,
    digest_context,
    fault_context,
    sales_meeting_context,
    summary_context,
)
from planner.model import BookingRecord, Decision, KpiRow, Snapshot
from planner.policy import Policy
from planner.timeutil import (
    WEEKDAYS,
    Interval,
    format_duration,
    iso_week,
    local_dt,
    week_monday,
)

__all__ = [
    "KINDS",
    "BookedBlock",
    "config_error_email",
    "fault_email",
    "plan_emails",
    "preview_context",
    "sample_context",
]

# The kinds this module plans and gives sample contexts for (templates/<kind>.*).
KINDS = ("agenda", "summary", "digest", "sales_meeting", "config_error", "fault")
# A digest looks back at most this far when earlier digests were never sent.
DIGEST_MAX_LOOKBACK = timedelta(days=7)
_REPORTED = ("decline", "delegate", "flag")


def needs_rows(needs: Sequence[Any]) -> list[dict[str, Any]]:
    """Plain rows for the templates from the planner's NeedsYou items (what, why, options)."""
    return [{"what": n.what, "why": n.why, "options": list(n.options), "rep": n.rep} for n in needs]


def is_news(d: Decision) -> bool:
    """Whether the digest reports a decision: a decline, delegation or flag, or any decision
    a policy change altered; a re-decision that came out the same is not news."""
    if d.was is not None:
        return d.was != f"{d.action}:{d.rule}"
    return d.action in _REPORTED


def plan_emails(
    policy: Policy,
    snapshot: Snapshot,
    now: datetime,
    bookings: Sequence[Block],
    needs: Sequence[Any] = (),
) -> list[SendEmail]:
    """The emails due at `now`: agendas, the weekly summary, the daily digest, sales meetings.

    `bookings` are the coaching blocks that exist or are being booked this tick (BookedBlock
    or anything with the same attributes); `needs` the coaching the planner could not book
    (planner.blocks.NeedsYou), reported in the summary and the digest. Emails whose key is in
    `snapshot.sent` are skipped.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    # One block per key: a block being moved may appear as the old and the new copy.
    blocks = list({b.key: b for b in bookings}.values())
    out: list[SendEmail] = []
    out += _agendas(policy, snapshot, now, blocks)
    out += _sales_meetings(policy, snapshot, now, blocks)
    rows = needs_rows(needs)
    summary = _summary(policy, snapshot, now, blocks, rows)
    if summary:
        out.append(summary)
    digest = _digest(policy, snapshot, now, rows)
    if digest:
        out.append(digest)
    return [e for e in out if e.key not in snapshot.sent]


def _in_send_window(block: Block, before: timedelta, now: datetime) -> bool:
    """Due once we are within `before` of the start, and only while it is still ahead."""
    return block.start - before <= now < block.start


def _agendas(
    policy: Policy, snapshot: Snapshot, now: datetime, blocks: Sequence[Block]
) -> list[SendEmail]:
    cfg = policy.email.agenda
    out = []
    for b in sorted(blocks, key=lambda b: b.start):
        if b.kind != "one_on_one" or not b.rep or not _in_send_window(b, cfg.before, now):
            continue
        key = f"agenda:{b.key}"
        if key in snapshot.sent:
            continue
        rep = policy.rep(b.rep)
        # A rep's own send_agenda (true or false) overrides the team-wide default.
        to_rep = cfg.send_to_rep if rep is None or rep.send_agenda is None else rep.send_agenda
        ctx = agenda_context(policy, snapshot, now, b, blocks)
        out.append(
            SendEmail(
                key=key,
                kind="agenda",
                to=(policy.manager.email,),
                cc=(b.rep,) if to_rep else (),
                context=ctx,
                reason=f"one-on-one with {ctx['rep']['name']} at {ctx['meeting']['when']} "
                f"is within {format_duration(cfg.before)}",
            )
        )
    return out


def _sales_meetings(
    policy: Policy, snapshot: Snapshot, now: datetime, blocks: Sequence[Block]
) -> list[SendEmail]:
    cfg = policy.email.sales_meeting
    if not cfg.enabled:
        return []
    out = []
    team = tuple(r.email for r in policy.team)
    for b in sorted(blocks, key=lambda b: b.start):
        if b.kind != "sales_meeting" or not _in_send_window(b, cfg.before, now):
            continue
        key = f"sales_meeting:{b.key}"
        if key in snapshot.sent:
            continue
        ctx = sales_meeting_context(policy, b)
        out.append(
            SendEmail(
                key=key,
                kind="sales_meeting",
                to=team or (policy.manager.email,),
                cc=(policy.manager.email,) if team else (),
                context=ctx,
                reason=f"sales meeting on {ctx['topic']!r} at {ctx['meeting']['when']} "
                f"is within {format_duration(cfg.before)}",
            )
        )
    return out


def summary_due(policy: Policy, now: datetime) -> datetime:
    """When this ISO week's summary is due: `email.summary.day` at `.time`, manager's zone."""
    tz = policy.manager.tz
    monday = week_monday(now.astimezone(tz).date())
    day = monday + timedelta(days=WEEKDAYS.index(policy.email.summary.day))
    return local_dt(day, policy.email.summary.time, tz)


def _summary(
    policy: Policy,
    snapshot: Snapshot,
    now: datetime,
    blocks: Sequence[Block],
    needs: Sequence[dict[str, Any]] = (),
) -> SendEmail | None:
    cfg = policy.email.summary
    if not cfg.enabled:
        return None
    due = summary_due(policy, now)
    # Only this week's summary: after downtime it goes out late this week, never for a past one.
    if now < due:
        return None
    key = f"summary:{iso_week(due.date())}"
    if key in snapshot.sent:
        return None
    ctx = summary_context(policy, snapshot, due, blocks, needs)
    late = " (late: coachd was not running at the scheduled time)" if now - due > _HOUR else ""
    return SendEmail(
        key=key,
        kind="summary",
        to=(policy.manager.email,),
        context=ctx,
        reason=f"weekly summary for {ctx['week']} is due {cfg.day} {cfg.time:%H:%M}{late}",
    )


_HOUR = timedelta(hours=1)


def _previous_digest_day(sent: frozenset[str], today: date) -> date | None:
    days = []
    for key in sent:
        if key.startswith("digest:"):
            try:
                d = date.fromisoformat(key.removeprefix("digest:"))
            except ValueError:
                continue
            if d < today:
                days.append(d)
    return max(days, default=None)


def _digest(
    policy: Policy, snapshot: Snapshot, now: datetime, needs: Sequence[dict[str, Any]] = ()
) -> SendEmail | None:
    cfg = policy.email.digest
    if not cfg.enabled:
        return None
    tz = policy.manager.tz
    today = now.astimezone(tz).date()
    due = local_dt(today, cfg.time, tz)
    if now < due:
        return None
    key = f"digest:{today.isoformat()}"
    if key in snapshot.sent:
        return None
    # Cover everything since the previous digest's cut-off, up to today's cut-off; what is
    # decided after the cut-off belongs to tomorrow's digest, so nothing is reported twice.
    prev = _previous_digest_day(snapshot.sent, today)
    since = local_dt(prev, cfg.time, tz) if prev else due - timedelta(days=1)
    since = max(since, due - DIGEST_MAX_LOOKBACK)
    news = [d for d in snapshot.decisions.values() if is_news(d) and since <= d.decided_at < due]
    # A skipped file is named in the one digest that covers when it was first seen.
    skipped = sorted(w for w, at in snapshot.skipped.items() if since <= at < due)
    if not news and not skipped and not needs:
        return None
    ctx = digest_context(policy, news, since, due, skipped, needs)
    return SendEmail(
        key=key,
        kind="digest",
        to=(policy.manager.email,),
        context=ctx,
        reason=f"daily triage digest: {ctx['counts']['declined']} declined, "
        f"{ctx['counts']['flagged']} flagged since {ctx['since']}, "
        f"{len(needs)} coaching item(s) need you",
    )


def config_error_email(
    policy: Policy, errors: Sequence[str], config_path: str, now: datetime
) -> SendEmail:
    """The email telling the manager a saved config.yaml was rejected (old one still runs).

    The key hashes the errors, so the same broken file is reported once, and a new mistake
    is reported again.
    """
    digest = hashlib.sha256("\n".join(errors).encode()).hexdigest()[:16]
    return SendEmail(
        key=f"config_error:{digest}",
        kind="config_error",
        to=(policy.manager.email,),
        context=config_error_context(policy, errors, config_path, now),
        reason=f"{config_path} was saved with {len(errors)} error(s); the previous config runs",
    )


def fault_email(policy: Policy, sentence: str, since: datetime) -> SendEmail:
    """The email telling the manager coachd cannot write its files (disk full, read-only,
    permission denied), once per fault episode: the key is the episode's start."""
    return SendEmail(
        key=f"fault:{since.isoformat()}",
        kind="fault",
        to=(policy.manager.email,),
        context=fault_context(policy, sentence, since),
        reason=f"coachd cannot write its files: {sentence}",
    )


# -- sample data for `coachd check` and `coachd preview` ---------------------------------------


def sample_policy() -> Policy:
    """A small realistic team used to render every template without a real config."""
    return Policy.model_validate(
        {
            "manager": {
                "name": "Dana Whitfield",
                "email": "dana@example.com",
                "timezone": "America/Chicago",
            },
            "team": [
                {
                    "name": "Alex Rivera",
                    "email": "alex@example.com",
                    "goals": ["Close 3 new logos this quarter", "Run discovery on every call"],
                    "start_date": "2026-10-05",
                },
                {
                    "name": "Sam Okafor",
                    "email": "sam@example.com",
                    "goals": ["Make President's Club"],
                },
                {"name": "Priya Nair", "email": "priya@example.com"},
            ],
            "kpis": [
                {"id": "calls", "name": "Calls", "unit": "calls", "minimum": 50, "goal": 70},
                {"id": "meetings", "name": "Meetings set", "minimum": 8, "goal": 12},
                {"id": "win_rate", "name": "Win rate", "unit": "%", "minimum": 20, "goal": 30},
            ],
            "coaching": {
                "ramp_milestones": [
                    {"week": 4, "goal": "Runs discovery calls alone"},
                    {"week": 8, "goal": "Books 8 meetings a week"},
                    {"week": 12, "goal": "Meets every minimum standard"},
                ]
            },
        }
    )


def _sample_snapshot(policy: Policy, now: datetime) -> Snapshot:
    tz = policy.manager.tz
    monday = week_monday(now.astimezone(tz).date())
    figures = {
        "alex@example.com": {"calls": [38, 41, 45, 44], "meetings": [6, 7, 9, 7], "win_rate": []},
        "sam@example.com": {
            "calls": [72, 75, 70, 78],
            "meetings": [12, 13, 11, 14],
            "win_rate": [31, 28, 33, 35],
        },
        "priya@example.com": {
            "calls": [40, 42, 44, 46],
            "meetings": [5, 6, 7, 7],
            "win_rate": [18, 17, 19, 18],
        },
    }
    rows = []
    for rep, kpis in figures.items():
        for kpi, vals in kpis.items():
            for i, v in enumerate(vals):
                rows.append(KpiRow(monday - timedelta(weeks=len(vals) - i), rep, kpi, float(v)))
    # Priya has been below on calls for longer than the four weeks shown.
    for i in range(5, 8):
        rows.append(KpiRow(monday - timedelta(weeks=i), "priya@example.com", "calls", 39.0))
    ride = local_dt(monday - timedelta(days=19), _t(9), tz)
    booking = BookingRecord(
        key="ride_along:alex@example.com:2026-W45",
        event_id="sampleride",
        generation=0,
        status="booked",
        kind="ride_along",
        rep="alex@example.com",
        start=ride,
        end=ride + timedelta(hours=4),
    )
    decided = now - timedelta(hours=3)
    start = local_dt(monday + timedelta(days=3), _t(14), tz)
    decisions = {
        "ev1": Decision(
            event_id="ev1",
            fingerprint="f1",
            action="decline",
            rule="facilities",
            reason="rule 'facilities' matched the title",
            decided_at=decided,
            title="Parking garage renovation update",
            organizer="facilities@example.com",
            start=start,
        ),
        "ev2": Decision(
            event_id="ev2",
            fingerprint="f2",
            action="flag",
            rule="budget",
            reason="non-sales meetings would reach 6h this week (budget 5h)",
            decided_at=decided,
            title="Q1 offsite planning <draft>",
            organizer="ops@example.com",
            start=start + timedelta(hours=2),
        ),
        "ev3": Decision(
            event_id="ev3",
            fingerprint="f3",
            action="flag",
            rule="non-sales",
            reason="would decline: rule 'non-sales' matched the title word 'committee'; "
            "at most flagged because you answered tentative (triage.protect)",
            decided_at=decided,
            title="Ethics committee",
            organizer="hr@example.com",
            start=start + timedelta(hours=4),
            cap="protected:tentative",
            was="keep:protected",
        ),
    }
    # A plausible month of the manager's calendar, so the summary's time audit has figures.
    events = tuple(sample_events(policy, monday - timedelta(weeks=1), 4))
    return Snapshot(
        window=Interval(now - timedelta(weeks=8), now + timedelta(weeks=2)),
        events=events,
        kpis=tuple(rows),
        bookings={booking.key: booking},
        decisions=decisions,
        notes={
            "alex@example.com": (
                "Send Alex the discovery question bank",
                "Role-play the pricing objection before Friday's demo",
            )
        },
    )


def _t(h: int) -> time:
    return time(h, 0)


def _sample_blocks(policy: Policy, now: datetime) -> list[BookedBlock]:
    tz = policy.manager.tz
    monday = week_monday(now.astimezone(tz).date())
    s1 = local_dt(monday + timedelta(days=1), _t(10), tz)
    s2 = local_dt(monday + timedelta(days=2), _t(13), tz)
    s3 = local_dt(monday + timedelta(days=1), _t(15), tz)
    return [
        BookedBlock(
            "one_on_one",
            "alex@example.com",
            s1,
            s1 + timedelta(minutes=30),
            "one_on_one:alex@example.com:2026-W49",
            "1:1 Dana / Alex",
        ),
        BookedBlock(
            "ride_along",
            "sam@example.com",
            s2,
            s2 + timedelta(hours=4),
            "ride_along:sam@example.com:2026-W49",
            "Ride-along with Sam",
        ),
        BookedBlock(
            "sales_meeting",
            None,
            s3,
            s3 + timedelta(hours=1),
            "sales_meeting:-:2026-W49",
            "Sales meeting: Handling price objections",
            "Handling price objections",
        ),
    ]


_SAMPLE_NEEDS = (
    {
        "what": "1:1 with Alex Rivera in 2026-W49",
        "why": (
            "no free 30m slot on tue 1 Dec, wed 2 Dec, thu 3 Dec 09:00-16:00 where both are "
            "free within the buffer and the daily coaching cap"
        ),
        "options": [
            "Tue 1 Dec 14:00 if you drop 'Vendor demo: new CRM'",
            "Thu 3 Dec 09:00 if you drop 'Facilities walkthrough'",
        ],
        "rep": "alex@example.com",
    },
)


def sample_context(kind: str) -> dict[str, Any]:
    """Realistic context for `kind`, built by the same code as real emails (for check/preview).

    Raises KeyError for a kind this module does not know.
    """
    if kind not in KINDS:
        raise KeyError(kind)
    policy = sample_policy()
    # A fixed instant, not the clock: samples must be reproducible (Mon 30 Nov 2026 08:00 CST).
    now = datetime.fromisoformat("2026-11-30T14:00:00+00:00")
    snapshot = _sample_snapshot(policy, now)
    blocks = _sample_blocks(policy, now)
    if kind == "agenda":
        return agenda_context(policy, snapshot, now, blocks[0], blocks)
    if kind == "summary":
        return summary_context(policy, snapshot, summary_due(policy, now), blocks, _SAMPLE_NEEDS)
    if kind == "digest":
        due = now + timedelta(hours=9)
        return digest_context(
            policy,
            list(snapshot.decisions.values()),
            due - timedelta(days=1),
            due,
            [
                "skipped calendar/you@example.com/spam.ics: RRULE FREQ=SECONDLY repeats more "
                "often than hourly: ignored"
            ],
            _SAMPLE_NEEDS,
        )
    if kind == "sales_meeting":
        return sales_meeting_context(policy, blocks[2])
    if kind == "fault":
        return fault_context(
            policy,
            "disk full: no space left on the device (/var/lib/coachd/state/coachd.json); "
            "free some space",
            now,
        )
    return config_error_context(
        policy,
        [
            "config.yaml:14: coaching.one_on_one.every: must be at least 1 day (got 0)",
            "config.yaml:31: kpis.2.goal: goal (5) is below the minimum (8)",
        ],
        "/srv/coachd/config.yaml",
        now,
    )


def preview_context(
    policy: Policy,
    snapshot: Snapshot,
    now: datetime,
    kind: str,
    bookings: Sequence[Block],
    rep: str | None = None,
    needs: Sequence[Any] = (),
) -> dict[str, Any]:
    """The context `kind` would have if it were sent now, ignoring due times (`coachd preview`).

    agenda: the rep's next one-on-one among `bookings` (the first rep when `rep` is None), or
    a 30-minute placeholder tomorrow at the same time when none is booked. digest: today's
    window even when empty. sales_meeting: the next sales meeting, or a placeholder with the
    first topic. `needs` (planner.blocks.NeedsYou) go into the summary and the digest.
    Raises KeyError for an unknown kind, ValueError for an unknown rep.
    """
    blocks = list({b.key: b for b in bookings}.values())
    ahead = sorted((b for b in blocks if b.start > now), key=lambda b: b.start)
    if kind == "agenda":
        email = rep or (policy.team[0].email if policy.team else None)
        if email is None or policy.rep(email) is None:
            raise ValueError(f"no rep {rep!r} on the team")
        block = next((b for b in ahead if b.kind == "one_on_one" and b.rep == email), None)
        if block is None:
            start = now + timedelta(days=1)
            block = BookedBlock(
                "one_on_one", email, start, start + timedelta(minutes=30), "preview", "1:1"
            )
        return agenda_context(policy, snapshot, now, block, blocks)
    if kind == "summary":
        return summary_context(
            policy, snapshot, summary_due(policy, now), blocks, needs_rows(needs)
        )
    if kind == "digest":
        tz = policy.manager.tz
        due = local_dt(now.astimezone(tz).date(), policy.email.digest.time, tz)
        since = due - timedelta(days=1)
        news = [
            d for d in snapshot.decisions.values() if is_news(d) and since <= d.decided_at < due
        ]
        skipped = sorted(w for w, at in snapshot.skipped.items() if since <= at < due)
        return digest_context(policy, news, since, due, skipped, needs_rows(needs))
    if kind == "sales_meeting":
        meeting = next((b for b in ahead if b.kind == "sales_meeting"), None)
        if meeting is None:
            start = now + timedelta(days=1)
            topic = policy.coaching.sales_meeting.topics[0]
            meeting = BookedBlock(
                "sales_meeting", None, start, start + timedelta(hours=1), "preview", "", topic
            )
        return sales_meeting_context(policy, meeting)
    if kind in ("config_error", "fault"):
        return sample_context(kind)
    raise KeyError(kind)
