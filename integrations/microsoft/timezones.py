"""Windows time zone names (what Outlook and Graph speak) <-> IANA names (what zoneinfo knows).

The table is CLDR's windowsZones.xml as shipped and kept current by the `tzlocal` package
(`tzlocal.windows_tz`, regenerated from CLDR for each release), so coachd does not carry a
copy that would go stale.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import tz_win, win_tz

# Names Graph uses for UTC besides CLDR's "UTC" entry.
_UTC_NAMES = frozenset({"utc", "tzone://microsoft/utc", "coordinated universal time"})


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The zone for a Graph `timeZone` value: a Windows name, an IANA name or a UTC alias.

    Raises ValueError for a name neither table knows.
    """
    text = name.strip()
    if text.lower() in _UTC_NAMES:
        return ZoneInfo("UTC")
    iana = win_tz.get(text)
    if iana is None:
        iana = text  # Graph also accepts and may echo IANA names
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def windows_name(tz: ZoneInfo) -> str:
    """The Windows name of an IANA zone ("America/Chicago" -> "Central Standard Time").

    Falls back to the IANA name itself, which Graph accepts, when CLDR lists no Windows zone.
    """
    if tz.key in ("UTC", "Etc/UTC"):
        return "UTC"
    return tz_win.get(tz.key, tz.key)
