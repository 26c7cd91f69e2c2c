"""The decline_reply and delegate templates render what plan_triage puts in their contexts."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from integrations.mail.render import Renderer, check_templates
from planner.actions import SendEmail
from planner.email_kinds import sample_context
from planner.model import Attendee, Event, Snapshot
from planner.policy import Policy
from planner.samples.triage import KINDS as EMAIL_KINDS
from planner.samples.triage import triage_sample
from planner.timeutil import Interval
from planner.triage import plan_triage

TZ = ZoneInfo("America/Chicago")
NOW = datetime(2026, 11, 30, 6, 0, tzinfo=TZ)


def _emails(backend: str) -> dict[str, SendEmail]:
    policy = Policy.model_validate(
        {
            "manager": {"name": "Dana O'Neil", "email": "dana@acme.com", "timezone": str(TZ)},
            "team": [{"name": "Sam", "email": "sam@acme.com"}],
            "calendar": {"backend": backend},
            "triage": {
                "mode": "decline",
                "rules": [
                    {
                        "name": "webinars",
                        "action": "delegate",
                        "delegate_to": "sam@acme.com",
                        "message": "Thanks <3 - Sam will cover this one.",
                        "match": {"title": ["webinar"]},
                    }
                ],
            },
        }
    )
    start = datetime(2026, 12, 2, 10, 0, tzinfo=TZ)
    event = Event(
        id="inv1",
        uid="inv1",
        calendar="dana@acme.com",
        title="Vendor <b>webinar</b>\r\nBcc: everyone@acme.com",
        start=start,
        end=start + timedelta(minutes=45),
        description="<script>alert(1)</script> agenda",
        location="Zoom",
        organizer="ops@vendor.io",
        attendees=(
            Attendee("ops@vendor.io", "Olive", "accepted", organizer=True),
            Attendee("dana@acme.com", "Dana"),
        ),
        self_status="needsAction",
    )
    snap = Snapshot(
        window=Interval(NOW - timedelta(days=7), NOW + timedelta(days=28)), events=(event,)
    )
    return {a.kind: a for a in plan_triage(policy, snap, NOW, []) if isinstance(a, SendEmail)}


def test_templates_pass_the_check_with_the_sample_contexts() -> None:
    samples = {k: sample_context(k) for k in EMAIL_KINDS}
    assert check_templates(Renderer(), samples) == []
    with pytest.raises(KeyError):
        triage_sample("agenda")


@pytest.mark.parametrize("backend", ["local", "google"])
def test_delegation_emails_render_safely(backend: str) -> None:
    emails = _emails(backend)
    assert set(emails) == ({"delegate", "decline_reply"} if backend == "local" else {"delegate"})
    r = Renderer()
    for kind, mail in emails.items():
        out = r.render(kind, dict(mail.context))
        assert "\n" not in out.subject and "\r" not in out.subject
        assert "<b>webinar</b>" not in out.html and "<script" not in out.html.lower()
        assert "\nBcc:" not in out.text
        assert "Wed 2 Dec 2026 10:00" in out.text
    delegate = r.render("delegate", dict(emails["delegate"].context))
    assert "Zoom" in delegate.text and "ops@vendor.io" in delegate.text
    assert "&lt;script&gt;" in delegate.html and "&lt;b&gt;webinar&lt;/b&gt;" in delegate.html
    told = "told the organizer" in delegate.text
    assert told is (backend == "local")
    if backend == "local":
        reply = r.render("decline_reply", dict(emails["decline_reply"].context))
        assert "Thanks <3 - Sam will cover this one." in reply.text
        assert "sam@acme.com" in reply.text and "sam@acme.com" in reply.subject
        assert "Thanks &lt;3" in reply.html
        assert emails["decline_reply"].to == ("ops@vendor.io",)
        # The stock reply does not quote the invitation back to its (outside) sender.
        for part in (reply.subject, reply.text, reply.html):
            assert "webinar" not in part.lower() and "Bcc" not in part
