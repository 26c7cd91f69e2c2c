"""How the state's records are stored as JSON and read back: ISO times, and bookings,
decisions and email records from their rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from integrations.store.state_ports import EmailRecord
from planner.model import BookingRecord, Decision


def _iso(dt: datetime) -> str:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt.isoformat()} cannot be stored: give it a zone")
    return dt.isoformat()


def _dt(raw: Any) -> datetime:
    return datetime.fromisoformat(str(raw))


def _opt_dt(raw: Any) -> datetime | None:
    return None if raw is None else _dt(raw)


def _booking(r: dict[str, Any]) -> BookingRecord:
    return BookingRecord(
        key=str(r["key"]),
        event_id=str(r["event_id"]),
        generation=int(r["generation"]),
        status=r["status"],
        kind=str(r["kind"]),
        rep=r.get("rep"),
        start=_dt(r["start"]),
        end=_dt(r["end"]),
        person_moved=bool(r.get("person_moved", False)),
    )


def _decision(r: dict[str, Any]) -> Decision:
    return Decision(
        event_id=str(r["event_id"]),
        fingerprint=str(r["fingerprint"]),
        action=str(r["action"]),
        rule=str(r["rule"]),
        reason=str(r["reason"]),
        decided_at=_dt(r["decided_at"]),
        title=str(r.get("title", "")),
        organizer=str(r.get("organizer", "")),
        start=_opt_dt(r.get("start")),
        cap=r.get("cap"),
        policy=str(r.get("policy", "")),
        was=r.get("was"),
    )


def _email(r: dict[str, Any]) -> EmailRecord:
    return EmailRecord(
        key=str(r["key"]),
        status=r["status"],
        attempts=int(r.get("attempts", 0)),
        kind=str(r.get("kind", "")),
        to=tuple(r.get("to") or ()),
        at=_dt(r["at"]),
        error=r.get("error"),
    )
