"""The value types of config.yaml: durations, wall-clock times, weekdays, addresses, days,
percentages and holiday regions, each validated with a message a person can act on, and the
strict base model every policy section extends."""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
)

from planner.timeutil import WEEKDAYS, format_duration, parse_duration, parse_hhmm


def _duration(v: Any) -> timedelta:
    if isinstance(v, timedelta):
        return v
    if isinstance(v, bool) or not isinstance(v, str):
        raise ValueError(f"must be a duration like 30m, 4h or 2 weeks (got {v!r})")
    try:
        return parse_duration(v)
    except OverflowError:
        raise ValueError(f"is far too long to be a duration (got {v!r})") from None


def _hhmm(v: Any) -> time:
    if isinstance(v, time):
        return v
    if not isinstance(v, str):
        raise ValueError(f'must be a time written "HH:MM" in quotes (got {v!r})')
    return parse_hhmm(v)


def _weekday(v: Any) -> str:
    if not isinstance(v, str) or v.strip().lower()[:3] not in WEEKDAYS:
        raise ValueError(f"must be a weekday like mon, tue, wed (got {v!r})")
    return v.strip().lower()[:3]


_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


def _email(v: Any) -> str:
    if not isinstance(v, str) or not _EMAIL.match(v.strip()):
        raise ValueError(f"must be an email address like name@example.com (got {v!r})")
    return v.strip().lower()


# A person's address names their calendar folder and notes file, so it must be a plain one:
# no '/', '\\', '..', NUL or line breaks, ASCII only (a look-alike letter from another script
# could pass for a colleague's address).
_PERSON_LOCAL = re.compile(r"^[a-z0-9_%+-]+(\.[a-z0-9_%+-]+)*$")
_PERSON_DOMAIN = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}$")


def _person_email(v: Any) -> str:
    email = _email(v)
    local, _, domain = email.rpartition("@")
    if len(email) > 254 or not _PERSON_LOCAL.match(local) or not _PERSON_DOMAIN.match(domain):
        raise ValueError(
            "must be a plain email address like name@example.com (ASCII letters, digits and "
            f". _ % + - only; no '/', '\\' or '..') (got {v!r})"
        )
    return email


# Letter groups that read alike in most fonts: two addresses equal after these are confusable.
_CONFUSABLE = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("0", "o"), ("1", "l"), ("5", "s"))


def confusable_key(email: str) -> str:
    """The address with look-alike letter groups folded together (`arna@x` -> `ama@x`)."""
    key = email.lower()
    for seen, like in _CONFUSABLE:
        key = key.replace(seen, like)
    return key


def _address_or_domain(v: Any) -> str:
    if not isinstance(v, str) or not v.strip() or any(c in v for c in " \r\n\t<>,;\"'"):
        raise ValueError(f"must be an email address or a domain like example.com (got {v!r})")
    return v.strip().lower().lstrip("@")


def _day(v: Any) -> date:
    if isinstance(v, date):
        return v
    if isinstance(v, str):
        try:
            return date.fromisoformat(v.strip())
        except ValueError:
            pass
    raise ValueError(f"must be a date written YYYY-MM-DD (got {v!r})")


def _timezone(v: str) -> str:
    """An IANA time zone name that this machine's zone database knows."""
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA timezone {v!r} (use a name like America/Chicago)") from None
    return v


def _holiday_region(v: Any) -> str:
    """`US`, or a subdivision like `US-TX`: a region the `holidays` package knows."""
    if not isinstance(v, str) or not re.fullmatch(r"\s*[A-Za-z]{2,3}(-[A-Za-z0-9]{1,6})?\s*", v):
        raise ValueError(f"must be a country code like US, or US-TX for a subdivision (got {v!r})")
    code = v.strip().upper()
    country, _, sub = code.partition("-")
    import holidays  # only when a region is configured: the package takes ~0.1 s to import

    try:
        holidays.country_holidays(country, subdiv=sub or None)
    except NotImplementedError as e:
        raise ValueError(f"unknown holiday region {code!r}: {e}") from None
    return code


def _percent(v: Any) -> float:
    if isinstance(v, bool):
        raise ValueError(f"must be a percentage like 40% (got {v!r})")
    if isinstance(v, int | float):
        f = float(v)
    elif isinstance(v, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*%?\s*", v):
        f = float(v.strip().rstrip("%"))
    else:
        raise ValueError(f"must be a percentage like 40% (got {v!r})")
    if not 0 <= f <= 100:
        raise ValueError(f"must be between 0% and 100% (got {v!r})")
    return f


Duration = Annotated[
    timedelta, BeforeValidator(_duration), PlainSerializer(format_duration, return_type=str)
]
HHMM = Annotated[time, BeforeValidator(_hhmm), PlainSerializer(lambda t: t.strftime("%H:%M"))]
Weekday = Annotated[str, BeforeValidator(_weekday)]
Email = Annotated[str, BeforeValidator(_email)]
PersonEmail = Annotated[str, BeforeValidator(_person_email)]
AddressOrDomain = Annotated[str, BeforeValidator(_address_or_domain)]
HolidayRegion = Annotated[str, BeforeValidator(_holiday_region)]
TimeZoneName = Annotated[str, AfterValidator(_timezone)]
Day = Annotated[date, BeforeValidator(_day)]
Percent = Annotated[float, BeforeValidator(_percent)]


class Strict(BaseModel):
    """Base for every section: unknown keys are errors, values are not silently coerced."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
