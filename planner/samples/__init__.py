"""Sample data for `coachd check` and `coachd preview`, in one place: realistic email contexts
built by the same code as real emails, for one sample team (planner/samples/team.py) at a
fixed instant. Pure and reproducible; planner.email_kinds names the builder of each kind."""

from __future__ import annotations

from planner.samples.calendar import audit_sample
from planner.samples.emails import email_context
from planner.samples.invitations import invitation_sample
from planner.samples.replies import reply_sample
from planner.samples.team import SAMPLE_NOW, sample_policy
from planner.samples.triage import triage_sample

__all__ = [
    "SAMPLE_NOW",
    "audit_sample",
    "email_context",
    "invitation_sample",
    "reply_sample",
    "sample_policy",
    "triage_sample",
]
