"""`coachd once` on a calendar folder holding three hostile invitations, against its twin.

Writes the demo (`coachd init --demo`) twice into a temp folder. Into one twin's manager
folder it adds three files anyone who can invite the manager could put there:

- `secondly.ics`: `RRULE:FREQ=SECONDLY` with no end, starting a year ago;
- `huge.ics`: a 50 MB VCALENDAR (generated here, never committed);
- `minutely.ics`: `RRULE:FREQ=MINUTELY` with no end, starting this morning.

Then it runs `coachd once` as a child process in each twin and prints, for each, the wall
time its CPU time and its peak resident memory (all from `wait4`), whether the log names each
hostile file, and whether the hostile twin booked exactly what the clean twin booked
(same coachd keys and times in the manager's folder).

Targets (issue #16): under 5 s and under 150 MB peak; the three files named; the week
booked as if they were not there. Run from the repository root:
`.venv/bin/python bench/hostile_calendar.py`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _common as c  # puts the repository root on sys.path, before first-party imports
import icalendar
import yaml

HUGE_BYTES = 50 * 1000 * 1000
TARGET_SECONDS = 5.0
TARGET_MB = 150.0


def coachd() -> str:
    exe = Path(sys.executable).with_name("coachd")
    return str(exe) if exe.exists() else "coachd"


def manager_folder(world: Path) -> Path:
    config = yaml.safe_load((world / "config.yaml").read_text(encoding="utf-8"))
    return world / "calendar" / str(config["manager"]["email"])


def ics(*lines: str) -> bytes:
    body = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//hostile//bench//EN", *lines]
    return ("\r\n".join([*body, "END:VCALENDAR"]) + "\r\n").encode()


def invitation(uid: str, start: datetime, rule: str, manager: str) -> bytes:
    return ics(
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20260101T000000Z",
        f"DTSTART:{start.strftime('%Y%m%dT%H%M%SZ')}",
        "DURATION:PT30M",
        f"SUMMARY:{uid}",
        "ORGANIZER:mailto:stranger@elsewhere.example",
        f"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:{manager}",
        f"RRULE:{rule}",
        "END:VEVENT",
    )


def write_huge(path: Path, manager: str, start: datetime) -> None:
    """A 50 MB file of ordinary-looking events, written in chunks."""
    with path.open("wb") as fh:
        fh.write(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hostile//bench//EN\r\n")
        n = 0
        while fh.tell() < HUGE_BYTES:
            day = start + timedelta(minutes=n)
            fh.write(
                (
                    "BEGIN:VEVENT\r\n"
                    f"UID:huge-{n}\r\n"
                    "DTSTAMP:20260101T000000Z\r\n"
                    f"DTSTART:{day.strftime('%Y%m%dT%H%M%SZ')}\r\n"
                    "DURATION:PT1M\r\n"
                    f"SUMMARY:spam {n}\r\n"
                    f"ATTENDEE:mailto:{manager}\r\n"
                    "END:VEVENT\r\n"
                ).encode()
            )
            n += 1
        fh.write(b"END:VCALENDAR\r\n")


def run_once(world: Path) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak RSS in MB, stderr) of `coachd once` in `world`.

    CPU time (user + system, from wait4) is printed beside the wall time because on a shared
    machine the wall time mostly measures the other processes."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [coachd(), "once"],
        cwd=world,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "COACHD_LOG_LEVEL": "INFO"},
    )
    assert proc.stderr is not None
    err = proc.stderr.read().decode("utf-8", "replace")
    _pid, _status, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    wall = time.perf_counter() - t0
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024.0, err  # ru_maxrss is in KiB on Linux


def booked(folder: Path) -> set[tuple[str, str]]:
    """(coachd key, start) of every event coachd wrote in the folder."""
    out = set()
    for path in folder.glob("*.ics"):
        if path.stat().st_size > 1_000_000:
            continue
        cal = icalendar.Calendar.from_ical(path.read_bytes())
        for ev in cal.walk("VEVENT"):
            if "X-COACHD-KEY" in ev:
                start: Any = ev["DTSTART"]
                out.add((str(ev["X-COACHD-KEY"]), str(start.dt)))
    return out


def main() -> None:
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="coachd-hostile-") as tmp:
        clean, hostile = Path(tmp) / "clean", Path(tmp) / "hostile"
        subprocess.run(
            [coachd(), "init", str(clean), "--demo"], check=True, stdout=subprocess.DEVNULL
        )
        shutil.copytree(clean, hostile)
        folder = manager_folder(hostile)
        manager = folder.name
        morning = now.replace(hour=8, minute=0, second=0, microsecond=0)
        (folder / "secondly.ics").write_bytes(
            invitation("secondly", morning - timedelta(days=365), "FREQ=SECONDLY", manager)
        )
        (folder / "minutely.ics").write_bytes(
            invitation("minutely", morning, "FREQ=MINUTELY", manager)
        )
        write_huge(folder / "huge.ics", manager, morning)
        huge_size = (folder / "huge.ics").stat().st_size

        c.print_header(
            "coachd once on a folder with hostile invitations",
            [
                ("world", "the demo team (coachd init --demo), local calendar, Maildir"),
                ("hostile files", f"secondly.ics, minutely.ics, huge.ics ({huge_size:,} B)"),
                ("measured", "one `coachd once` child each; wall time, peak RSS from wait4"),
            ],
        )
        rows = []
        results = {}
        for name, world in (("clean twin", clean), ("hostile twin", hostile)):
            wall, cpu, peak, err = run_once(world)
            results[name] = err
            rows.append(
                (
                    name,
                    f"{wall:.2f} s",
                    f"{cpu:.2f} s",
                    f"{peak:.0f} MB",
                    len(booked(manager_folder(world))),
                )
            )
        print(c.table(["run", "wall time", "CPU time", "peak RSS", "coachd events booked"], rows))
        print(f"\nload average while measuring: {os.getloadavg()[0]:.1f}")
        print()
        err = results["hostile twin"]
        for fname in ("secondly.ics", "minutely.ics", "huge.ics"):
            named = [line for line in err.splitlines() if fname in line]
            print(f"- {fname} named in the log: {'yes' if named else 'NO'}")
            for line in named[:1]:
                print(f"    {line.split(': ', 1)[-1][:160]}")
        same = booked(manager_folder(clean)) == booked(manager_folder(hostile))
        print(
            f"- hostile twin booked exactly what the clean twin booked: {'yes' if same else 'NO'}"
        )
        print(f"- targets: < {TARGET_SECONDS:.0f} s and < {TARGET_MB:.0f} MB peak")


if __name__ == "__main__":
    main()
