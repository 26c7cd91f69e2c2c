"""The one sample team every sample email is built for, and the sample instant."""

from __future__ import annotations

from datetime import datetime

from planner.policy import Policy

# A fixed instant, not the clock: samples must be reproducible (Mon 30 Nov 2026 08:00 CST).
SAMPLE_NOW = datetime.fromisoformat("2026-11-30T14:00:00+00:00")


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
