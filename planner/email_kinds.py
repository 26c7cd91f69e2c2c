"""Every email kind coachd sends, in one table. Pure: `now` is an argument.

One `EmailKind` per kind names its templates (`templates/<template>.subject.txt`, `.txt`,
`.html`), who receives it, whether it goes out a lead time before a booking (and which
policy setting gives that lead time), whether it must not go out when a calendar write it
depends on failed this tick (a booking, a decline), and a builder of a realistic sample
context. The daemon's wake-ups (`next_due`), `coachd preview`, `coachd check` and the
executor read this table; the planner modules that build the real emails own the logic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from planner import case_report, org_report, record_mail, samples
from planner.model import BookingRecord
from planner.policy import Policy

__all__ = [
    "KINDS",
    "EmailKind",
    "kind",
    "lead_time",
    "next_due",
    "previewable",
    "sample_context",
]

WaitsOn = Literal["booking", "decline"]


@dataclass(frozen=True)
class EmailKind:
    """One email kind: its templates, audience, timing and dependencies, and a sample."""

    name: str
    audience: str  # who receives it, as the README says it
    sample: Callable[[], Mapping[str, Any]]
    # Sent `lead(policy)` before a booking of `before_kind` starts (None: not booking-led, or
    # switched off in the policy).
    before_kind: str | None = None
    lead: Callable[[Policy], timedelta | None] | None = None
    # Not sent in a tick where the calendar write it depends on failed.
    waits_on: WaitsOn | None = None
    # `coachd preview KIND` renders it from the real calendar.
    previewable: bool = False

    @property
    def template(self) -> str:
        """The templates' base name: `templates/<template>.subject.txt|.txt|.html`."""
        return self.name


def _agenda_lead(p: Policy) -> timedelta | None:
    return p.email.agenda.before


def _sales_meeting_lead(p: Policy) -> timedelta | None:
    return p.email.sales_meeting.before if p.email.sales_meeting.enabled else None


KINDS: Mapping[str, EmailKind] = {
    k.name: k
    for k in (
        EmailKind(
            "agenda",
            "the manager (cc the rep when send_to_rep)",
            lambda: samples.email_context("agenda"),
            before_kind="one_on_one",
            lead=_agenda_lead,
            waits_on="booking",
            previewable=True,
        ),
        EmailKind(
            "summary",
            "the manager",
            lambda: samples.email_context("summary"),
            previewable=True,
        ),
        EmailKind(
            "digest",
            "the manager",
            lambda: samples.email_context("digest"),
            previewable=True,
        ),
        EmailKind(
            "sales_meeting",
            "the team (cc the manager)",
            lambda: samples.email_context("sales_meeting"),
            before_kind="sales_meeting",
            lead=_sales_meeting_lead,
            waits_on="booking",
            previewable=True,
        ),
        EmailKind(
            "config_error",
            "the manager",
            lambda: samples.email_context("config_error"),
        ),
        EmailKind(
            "fault",
            "the manager",
            lambda: samples.email_context("fault"),
        ),
        EmailKind(
            "decline_reply",
            "the organizer of a declined meeting",
            lambda: samples.triage_sample("decline_reply"),
            waits_on="decline",
        ),
        EmailKind(
            "delegate",
            "the delegate of a declined meeting",
            lambda: samples.triage_sample("delegate"),
            waits_on="decline",
        ),
        EmailKind(
            "audit",
            "the manager",
            lambda: samples.audit_sample("audit"),
            previewable=True,
        ),
        EmailKind(
            "leadership_report",
            "the manager and email.leadership_report.to",
            lambda: samples.audit_sample("leadership_report"),
            previewable=True,
        ),
        EmailKind(
            "invitation",
            "the guests of a coaching block (local calendar)",
            lambda: samples.invitation_sample("invitation"),
            waits_on="booking",
        ),
        EmailKind(
            "cancellation",
            "the guests of a cancelled coaching block (local calendar)",
            lambda: samples.invitation_sample("cancellation"),
            waits_on="booking",
        ),
        EmailKind(
            "reply_confirmation",
            "the manager",
            lambda: samples.reply_sample("reply_confirmation"),
        ),
        EmailKind(
            "record_reply",
            "the sender of mail coachd could only partly read (the manager or the rep)",
            lambda: record_mail.sample_context("record_reply"),
        ),
        EmailKind(
            "org_report",
            "org mode: the VP (org.report.to), weekly",
            lambda: org_report.sample_context("org_report"),
        ),
        EmailKind(
            "case_report",
            "the manager (a document for leadership, written by `coachd case report`)",
            lambda: case_report.sample_context("case_report"),
            previewable=True,
        ),
    )
}


def sample_context(name: str) -> dict[str, Any]:
    """The sample context of kind `name` (for check, preview and tests); KeyError if unknown."""
    return dict(KINDS[name].sample())


def kind(name: str) -> EmailKind | None:
    """The registered kind called `name`, or None."""
    return KINDS.get(name)


def previewable() -> list[str]:
    """The kinds `coachd preview` renders, in the table's order."""
    return [k.name for k in KINDS.values() if k.previewable]


def lead_time(policy: Policy, booking_kind: str) -> timedelta | None:
    """How long before a booking of `booking_kind` its email falls due (None: no email)."""
    for k in KINDS.values():
        if k.before_kind == booking_kind and k.lead is not None:
            return k.lead(policy)
    return None


def next_due(policy: Policy, bookings: Iterable[BookingRecord], now: datetime) -> datetime | None:
    """The first instant after `now` at which an email led by a booking falls due (an agenda,
    a sales-meeting email), or None. Only booked blocks count; a kind switched off in the
    policy (`email.sales_meeting.enabled: false`) never wakes the daemon."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    due = []
    for b in bookings:
        if b.status != "booked":
            continue
        lead = lead_time(policy, b.kind)
        if lead is not None and b.start - lead > now:
            due.append(b.start - lead)
    return min(due, default=None)
