"""The time audit on a fixed calendar in America/Chicago: minutes per category, overlaps,
all-day and DST weeks, what is not counted, time sinks, targets, trend, and the templates."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from planner.audit import (
    AuditWeek,
    audit_context,
    audit_email_context,
    audit_week,
    audit_weeks,
    leadership_context,
    minutes,
    month_week_starts,
)
from planner.audit_report import format_table, to_json
from planner.model import Attendee, CoachdTag, Event
from planner.policy import Policy
from planner.samples.calendar import audit_sample as sample_context
from planner.samples.calendar import sample_audit_context, sample_leadership_context
from planner.timeutil import local_dt

TZ_NAME = "America/Chicago"
ME = "dana@acme.example"
MON = date(2026, 11, 16)  # an ordinary week, no DST change
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
HOSTILE = "<script>alert(1)</script>"


def make_policy(**audit: Any) -> Policy:
    return Policy.model_validate(
        {
            "manager": {
                "name": "Dana Whitfield",
                "email": ME,
                "timezone": TZ_NAME,
                "working_hours": {"start": "08:00", "end": "17:00"},
                **audit.pop("manager", {}),
            },
            "team": [{"name": "Sam Ortiz", "email": "sam@acme.example"}],
            "triage": {
                "customer_domains": ["globex.example"],
                "rules": [
                    {
                        "name": "facilities",
                        "match": {"title": ["facilities", "office move"]},
                        "action": "flag",
                        "category": "non_sales",
                    }
                ],
            },
            "audit": {
                "categories": {
                    "recruiting": ["interview"],
                    "personal": ["dentist"],
                    "non_sales": ["offsite", "holiday"],
                },
                **audit,
            },
        }
    )


_n = 0


def ev(
    day: date,
    start: str,
    end: str,
    title: str,
    *,
    organizer: str = ME,
    kind: str | None = None,
    guests: tuple[str, ...] = (),
    end_day: date | None = None,
    **kw: Any,
) -> Event:
    """A timed event on the manager's calendar, wall-clock times in Chicago."""
    global _n
    _n += 1
    tz = make_policy().manager.tz
    s = local_dt(day, time.fromisoformat(start), tz)
    e = local_dt(end_day or day, time.fromisoformat(end), tz)
    tag = CoachdTag(f"{kind}:-:{day}", kind, None, str(day)) if kind else None
    return Event(
        id=f"e{_n}",
        uid=f"e{_n}",
        calendar=ME,
        title=title,
        start=s,
        end=e,
        organizer=organizer,
        attendees=tuple(Attendee(g, status="accepted") for g in guests),
        self_status=kw.pop("self_status", None if organizer == ME else "accepted"),
        tag=tag,
        **kw,
    )


def all_day(first: date, days: int, title: str, **kw: Any) -> Event:
    """An all-day event as the calendar backends deliver it: local midnights."""
    global _n
    _n += 1
    tz = make_policy().manager.tz
    return Event(
        id=f"a{_n}",
        uid=f"a{_n}",
        calendar=ME,
        title=title,
        start=local_dt(first, time(0), tz),
        end=local_dt(first + timedelta(days=days), time(0), tz),
        all_day=True,
        organizer=kw.pop("organizer", ME),
        **kw,
    )


def mins(week: AuditWeek) -> dict[str, int]:
    return {c: minutes(d) for c, d in week.categories.items()}


TUE, WED, THU, FRI = (MON + timedelta(days=i) for i in range(1, 5))


def week_calendar() -> list[Event]:
    return [
        ev(MON, "08:30", "08:45", "Huddle", kind="huddle"),
        ev(TUE, "10:00", "10:30", "1:1 Sam", kind="one_on_one"),
        ev(WED, "08:00", "12:00", "Ride-along Sam", kind="ride_along"),
        ev(THU, "13:00", "14:10", "Pricing call", organizer="cfo@globex.example"),
        ev(FRI, "09:00", "10:37", "Facilities committee", organizer="ops@acme.example"),
        ev(THU, "15:00", "15:50", "Interview: SDR", organizer="talent@acme.example"),
        ev(TUE, "12:00", "13:00", "Dentist"),
        ev(WED, "16:00", "16:23", "Sync", organizer="vp@acme.example"),
    ]


# -- counting ----------------------------------------------------------------------------


def test_hours_per_category_to_the_minute() -> None:
    w = audit_week(make_policy(), week_calendar(), MON)
    assert minutes(w.working) == 5 * 9 * 60
    assert mins(w) == {
        "coaching": 15 + 30 + 240,
        "account_management": 70,
        "recruiting": 50,
        "non_sales": 97,
        "personal": 60,
        "unclassified": 23,
    }
    assert {k: minutes(v) for k, v in w.coaching_kinds.items() if v} == {
        "huddle": 15,
        "one_on_one": 30,
        "ride_along": 240,
    }
    assert w.coaching_share == pytest.approx(100 * 285 / 2700)
    assert minutes(w.free) == 2700 - 285 - 70 - 50 - 97 - 60 - 23


def test_overlapping_events_count_once_by_precedence() -> None:
    cal = [
        ev(TUE, "10:00", "10:30", "1:1 Sam", kind="one_on_one"),
        ev(TUE, "10:15", "11:00", "Facilities walk", organizer="ops@acme.example"),
        ev(WED, "14:00", "15:00", "Facilities budget", organizer="ops@acme.example"),
        ev(WED, "14:30", "15:30", "Office move", organizer="cfo@acme.example"),
        ev(THU, "09:00", "10:00", "Dentist"),
        ev(THU, "09:30", "09:45", "Team huddle", kind="huddle"),
        ev(THU, "09:40", "09:50", "Sales meeting", kind="sales_meeting"),
    ]
    w = audit_week(make_policy(), cal, MON)
    m = mins(w)
    # 1:1 keeps 10:00-10:30; facilities only its last 30 minutes. 14:00-15:30 once: 90.
    assert m["non_sales"] == 30 + 90
    # Thursday: 09:30-09:50 coaching (huddle first, then the sales meeting's 5 extra minutes).
    assert m["coaching"] == 30 + 20
    assert m["personal"] == 40
    assert minutes(w.coaching_kinds["huddle"]) == 15
    assert minutes(w.coaching_kinds["sales_meeting"]) == 5
    assert w.counted == sum(w.categories.values(), timedelta())
    # The shared 14:30-15:00 goes to the event that started first (ops), not to both.
    sinks = {s.organizer: minutes(s.duration) for s in w.sinks}
    assert sinks == {"ops@acme.example": 30 + 60, "cfo@acme.example": 30}


def test_all_day_events_count_working_hours_only_and_only_when_opaque() -> None:
    cal = [
        all_day(WED, 1, "Sales offsite"),  # opaque: one working day of non-sales
        all_day(THU, 1, "Holiday party reminder", transparent=True),
        all_day(MON + timedelta(days=5), 2, "Offsite weekend"),  # Sat-Sun: not working days
        ev(WED, "10:00", "11:00", "1:1 Sam", kind="one_on_one"),  # inside the offsite
        all_day(FRI, 1, "Offsite prep", cancelled=True),
    ]
    w = audit_week(make_policy(), cal, MON)
    assert mins(w)["non_sales"] == 9 * 60 - 60
    assert mins(w)["coaching"] == 60
    assert minutes(w.outside_hours) == 0
    assert w.not_counted == {"transparent": 1, "cancelled": 1}


def test_multi_day_all_day_event_clipped_to_the_week() -> None:
    # Thu of this week to Tue of next: Thu + Fri count here, Mon + Tue next week.
    trip = all_day(THU, 6, "Offsite trip")
    w1, w2 = audit_weeks(make_policy(), [trip], MON + timedelta(days=7), weeks=2)
    assert mins(w1)["non_sales"] == 2 * 540
    assert mins(w2)["non_sales"] == 2 * 540


def test_time_outside_working_hours_is_separate() -> None:
    cal = [
        ev(TUE, "16:30", "18:00", "Pricing dinner", organizer="cfo@globex.example"),
        ev(WED, "07:00", "08:30", "Early 1:1", kind="one_on_one"),
        # A timed event spanning days counts only within working hours, never its nights.
        ev(
            THU,
            "09:00",
            "17:00",
            "Trade show",
            end_day=FRI,
            organizer="ops@acme.example",
            self_status="accepted",
        ),
    ]
    w = audit_week(make_policy(), cal, MON)
    assert mins(w)["account_management"] == 30
    assert mins(w)["coaching"] == 30
    assert minutes(w.outside_hours) == 60 + 60
    assert mins(w)["unclassified"] == 8 * 60 + 9 * 60


def test_declined_cancelled_and_transparent_are_not_counted() -> None:
    cal = [
        ev(
            TUE,
            "09:00",
            "10:00",
            "Facilities",
            organizer="ops@acme.example",
            self_status="declined",
        ),
        ev(TUE, "11:00", "12:00", "Facilities 2", organizer="ops@acme.example", cancelled=True),
        ev(WED, "09:00", "10:00", "Focus", transparent=True),
        ev(WED, "13:00", "13:45", "Facilities 3", organizer="ops@acme.example"),
    ]
    w = audit_week(make_policy(), cal, MON)
    assert mins(w)["non_sales"] == 45
    assert sum(mins(w).values()) == 45
    assert w.declined_count == 1
    assert minutes(w.declined) == 60
    assert w.not_counted == {"declined": 1, "cancelled": 1, "transparent": 1}


def test_out_of_office_is_personal_and_rules_classify_the_rest() -> None:
    cal = [
        ev(MON, "08:00", "17:00", "Away", event_type="outOfOffice"),
        ev(TUE, "09:00", "09:30", "Status", event_type="workingLocation"),
        ev(
            TUE, "10:00", "10:40", "QBR", organizer="ann@acme.example", guests=("x@globex.example",)
        ),
    ]
    w = audit_week(make_policy(), cal, MON)
    assert mins(w)["personal"] == 9 * 60
    assert mins(w)["account_management"] == 40  # a guest from a customer domain
    assert w.not_counted == {"workingLocation": 1}


def test_unclassified_events_are_listed_never_guessed() -> None:
    cal = [
        ev(WED, "16:00", "16:23", "Sync", organizer="VP@acme.example"),
        ev(WED, "16:10", "16:40", "1:1 Sam", kind="one_on_one"),
        ev(FRI, "11:00", "11:30", "Facilities", organizer="ops@acme.example"),
    ]
    w = audit_week(make_policy(), cal, MON)
    assert len(w.unclassified) == 1
    u = w.unclassified[0]
    assert (u.title, u.organizer, minutes(u.duration), minutes(u.counted)) == (
        "Sync",
        "vp@acme.example",
        23,
        10,
    )
    assert u.start.hour == 16 and u.start.tzinfo is not None
    assert "no triage rule" in u.reason
    assert mins(w)["unclassified"] == 10


def test_top_three_sinks_by_organizer() -> None:
    cal = [
        ev(MON, "09:00", "11:00", "Facilities", organizer="ops@acme.example"),
        ev(TUE, "09:00", "10:00", "Facilities", organizer="ops@acme.example"),
        ev(TUE, "13:00", "15:30", "Account plan", organizer="cfo@globex.example"),
        ev(WED, "09:00", "10:30", "Interview", organizer="talent@acme.example"),
        ev(WED, "11:00", "11:20", "Sync", organizer="vp@acme.example"),
        ev(THU, "09:00", "13:00", "Dentist"),  # personal: not a sink
        ev(FRI, "09:00", "13:00", "Ride-along", kind="ride_along"),  # coaching: not a sink
    ]
    w = audit_week(make_policy(), cal, MON)
    top = [(s.organizer, minutes(s.duration), s.events, s.main_category) for s in w.top_sinks]
    assert top == [
        ("ops@acme.example", 180, 2, "non_sales"),
        ("cfo@globex.example", 150, 1, "account_management"),
        ("talent@acme.example", 90, 1, "recruiting"),
    ]
    assert [s.organizer for s in w.sinks][3:] == ["vp@acme.example"]


@pytest.mark.parametrize(
    ("coaching_min", "non_sales_min", "am_min", "met"),
    [
        (18 * 60, 5 * 60, 6 * 60, (True, True, True)),  # exactly on every target
        (18 * 60 - 1, 5 * 60 + 1, 6 * 60 + 1, (False, False, False)),
    ],
)
def test_targets_met_and_missed(
    coaching_min: int, non_sales_min: int, am_min: int, met: tuple[bool, bool, bool]
) -> None:
    policy = make_policy(
        targets={"coaching_min_share": "40%", "non_sales_max": "5h", "account_management_max": "6h"}
    )
    cal: list[Event] = []
    # Spread each category over the week's mornings/afternoons without overlaps.
    for i, (total, title, org, kind) in enumerate(
        [
            (coaching_min, "Ride-along", ME, "ride_along"),
            (non_sales_min, "Facilities", "ops@acme.example", None),
            (am_min, "Account plan", "cfo@globex.example", None),
        ]
    ):
        day = MON + timedelta(days=i)
        while total > 0:
            chunk = min(total, 9 * 60)
            end = (datetime.combine(day, time(8)) + timedelta(minutes=chunk)).time()
            cal.append(ev(day, "08:00", end.isoformat("minutes"), title, organizer=org, kind=kind))
            total -= chunk
            day += timedelta(days=3)
    w = audit_week(policy, cal, MON)
    assert mins(w)["coaching"] == coaching_min
    assert tuple(t.met for t in w.targets) == met
    assert [t.key for t in w.targets] == [
        "coaching_min_share",
        "account_management_max",
        "non_sales_max",
    ]


def test_four_week_trend_oldest_first() -> None:
    policy = make_policy()
    cal = [
        ev(MON + timedelta(weeks=n, days=1), "09:00", f"{10 + n}:00", "1:1", kind="one_on_one")
        for n in range(4)
    ]
    last = MON + timedelta(weeks=3)
    weeks = audit_weeks(policy, cal, last)
    assert [w.week_start for w in weeks] == [MON + timedelta(weeks=n) for n in range(4)]
    assert [mins(w)["coaching"] for w in weeks] == [60, 120, 180, 240]
    ctx = audit_context(policy, weeks)
    coaching_row = next(r for r in ctx["trend"]["rows"] if r["category"] == "coaching")
    assert coaching_row["hours"] == ["1h00", "2h00", "3h00", "4h00"]
    assert ctx["trend"]["weeks"] == ["2026-W47", "2026-W48", "2026-W49", "2026-W50"]
    assert ctx["week"] == "2026-W50"


# -- DST ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("monday", "sunday", "night_minutes"),
    [
        (date(2027, 3, 8), date(2027, 3, 14), 5 * 60),  # spring forward: 22:00-04:00 is 5h
        (date(2026, 10, 26), date(2026, 11, 1), 7 * 60),  # fall back: 22:00-04:00 is 7h
    ],
)
def test_dst_weeks(monday: date, sunday: date, night_minutes: int) -> None:
    policy = make_policy(manager={"working_days": ["mon", "tue", "wed", "thu", "fri", "sun"]})
    saturday = sunday - timedelta(days=1)
    cal = [
        all_day(sunday, 1, "Sales offsite"),
        ev(sunday, "08:00", "17:00", "Ride-along", kind="ride_along"),
        ev(
            saturday,
            "22:00",
            "04:00",
            "Red-eye",
            end_day=sunday,
            organizer="ops@acme.example",
            self_status="accepted",
        ),
        ev(monday, "10:00", "10:30", "1:1", kind="one_on_one"),
    ]
    w = audit_week(policy, cal, monday)
    # Six working days of 08:00-17:00, the DST Sunday included, are 6 x 9h.
    assert minutes(w.working) == 6 * 9 * 60
    assert mins(w)["coaching"] == 9 * 60 + 30
    assert mins(w)["non_sales"] == 0  # the offsite is covered by the ride-along
    assert minutes(w.outside_hours) == night_minutes
    assert minutes(w.free) == 6 * 9 * 60 - 9 * 60 - 30


def test_week_after_spring_forward_uses_the_new_offset() -> None:
    monday = date(2027, 3, 15)
    w = audit_week(make_policy(), [ev(monday, "08:00", "08:30", "Huddle", kind="huddle")], monday)
    assert minutes(w.working) == 45 * 60
    assert mins(w)["coaching"] == 30
    assert minutes(w.outside_hours) == 0


# -- contexts and output -------------------------------------------------------------------


def hostile_calendar() -> list[Event]:
    return [
        *week_calendar(),
        ev(FRI, "14:00", "15:00", HOSTILE, organizer="<script>@evil.example"),
    ]


def test_audit_context_figures() -> None:
    policy = make_policy()
    weeks = audit_weeks(policy, week_calendar(), MON)
    ctx = audit_context(policy, weeks)
    rows = {r["category"]: r for r in ctx["rows"]}
    assert rows["coaching"]["hours"] == "4h45"
    assert rows["coaching"]["status"] == "missed"
    assert rows["non_sales"]["hours"] == "1h37"
    assert rows["non_sales"]["status"] == "met"
    assert rows["coaching"]["width"] == round(100 * 285 / 2700)
    assert ctx["coaching_share"] == "11%"
    assert [s["organizer"] for s in ctx["sinks"]] == [
        "ops@acme.example",
        "cfo@globex.example",
        "talent@acme.example",
    ]
    assert ctx["unclassified"] == [
        {
            "title": "Sync",
            "organizer": "vp@acme.example",
            "when": "Wed 18 Nov 16:00",
            "hours": "0h23",
            "minutes": 23,
        }
    ]
    json.dumps(ctx)  # plain data only


def test_leadership_context_sums_the_month() -> None:
    policy = make_policy()
    cal = [
        *week_calendar(),
        ev(
            TUE + timedelta(weeks=1),
            "09:00",
            "10:00",
            "Facilities",
            organizer="ops@acme.example",
            self_status="declined",
        ),
    ]
    weeks = audit_weeks(policy, cal, MON + timedelta(weeks=1), weeks=2)
    ctx = leadership_context(policy, weeks)
    assert ctx["working_hours"] == "90h00"
    assert ctx["coaching_hours"] == "4h45"
    assert ctx["declined_count"] == 1 and ctx["declined_hours"] == "1h00"
    assert ctx["targets"][0]["weeks_met"] == 0
    assert ctx["targets"][2] == {
        "category": "Non-sales internal",
        "target": "≤ 5h00",
        "weeks_met": 2,
        "weeks": 2,
    }


def test_format_table_and_json() -> None:
    policy = make_policy()
    weeks = audit_weeks(policy, week_calendar(), MON, weeks=2)
    table = format_table(weeks)
    lines = table.splitlines()
    header = next(line for line in lines if line.startswith("Category"))
    assert header.split() == [
        "Category",
        "Hours",
        "Share",
        "Target",
        "Status",
        "2026-W46",
        "2026-W47",
    ]
    coaching = next(line for line in lines if line.startswith("Coaching "))
    assert coaching.split() == ["Coaching", "4h45", "11%", ">=", "40%", "MISSED", "0h00", "4h45"]
    assert "1. ops@acme.example: 1h37" in table
    # Figures line up under their headers.
    assert coaching.index("4h45") + 4 == header.index("Hours") + len("Hours")
    assert "'Sync' from vp@acme.example, 0h23" in table
    data = to_json(weeks)
    json.dumps(data)
    assert data["weeks"][0]["categories"]["coaching"] == 0
    first = data["weeks"][1]
    assert first["categories"]["coaching"] == 285
    assert first["coaching_kinds"]["ride_along"] == 240
    assert first["unclassified"][0]["minutes"] == 23
    assert first["targets"][0]["met"] is False


def test_sample_context_kinds() -> None:
    assert set(sample_context("audit")) == {"audit"}
    assert "rows" in sample_context("leadership_report")
    with pytest.raises(KeyError):
        sample_context("agenda")


# -- templates ---------------------------------------------------------------------------


def html_env() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=True, loader=FileSystemLoader(str(TEMPLATES))
    )


def text_env() -> ImmutableSandboxedEnvironment:
    # As the mail renderer does: no escaping in text parts, block tags trimmed.
    return ImmutableSandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        loader=FileSystemLoader(str(TEMPLATES)),
    )


def render_all(kind: str, ctx: dict[str, Any]) -> tuple[str, str, str]:
    return (
        text_env().get_template(f"{kind}.subject.txt").render(ctx),
        text_env().get_template(f"{kind}.txt").render(ctx),
        html_env().get_template(f"{kind}.html").render(ctx),
    )


@pytest.mark.parametrize(
    ("kind", "ctx"),
    [("audit", sample_audit_context()), ("leadership_report", sample_leadership_context())],
)
def test_templates_render_the_samples(kind: str, ctx: dict[str, Any]) -> None:
    subject, text, html = render_all(kind, ctx)
    assert "\n" not in subject.strip()
    figures = ctx.get("audit", ctx)
    assert figures["coaching_share"] in subject
    for part in (text, html):
        assert figures["coaching_hours"] in part
        for row in figures["rows"]:
            assert row["hours"] in part
    assert "background-color:#2e7d32" in html  # the coaching bar
    assert "<script" not in html


def test_audit_templates_on_the_fixed_calendar_escape_hostile_text() -> None:
    policy = make_policy()
    ctx = audit_email_context(policy, audit_weeks(policy, hostile_calendar(), MON))
    subject, text, html = render_all("audit", ctx)
    assert "coaching 11%" in subject
    assert "4h45" in html and "4h45" in text
    assert 'width="11%"' in html  # the coaching bar is 11% wide
    assert "ops@acme.example" in html and "1h37" in html
    assert "Sync" in html and "0h23" in html
    assert HOSTILE not in html and "<script>@evil" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;script&gt;@evil.example" in html
    assert HOSTILE in text  # text parts are not HTML: shown as written


def test_summary_partials_render_with_the_audit_key() -> None:
    policy = make_policy()
    audit = audit_context(policy, audit_weeks(policy, hostile_calendar(), MON))
    html = html_env().get_template("_audit_section.html").render(audit=audit)
    text = text_env().get_template("_audit_section.txt").render(audit=audit)
    for part in (html, text):
        assert "4h45" in part and "ops@acme.example" in part and "1h37" in part
    assert "&lt;script&gt;@evil.example" in html and "<script>@evil" not in html


def test_leadership_report_on_the_fixed_calendar() -> None:
    policy = make_policy()
    ctx = leadership_context(policy, audit_weeks(policy, hostile_calendar(), MON, weeks=2))
    subject, text, html = render_all("leadership_report", ctx)
    assert "Dana Whitfield" in subject
    assert "4h45" in html and "90h00" in text
    assert "<script>@evil" not in html


def test_month_week_starts_follow_iso_weeks() -> None:
    assert month_week_starts(2026, 11) == [date(2026, 11, d) for d in (2, 9, 16, 23)]
    assert month_week_starts(2026, 10)[-1] == date(2026, 10, 26)  # Thu 29 Oct
    assert month_week_starts(2027, 4) == [
        date(2027, 3, 29),
        *(date(2027, 4, d) for d in (5, 12, 19, 26)),
    ]
