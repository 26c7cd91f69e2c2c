"""Cold processes, as cron and a person at a terminal run them: `coachd once`, `coachd plan`
and `coachd --help` as fresh processes on the local backend, against khal on the same folder.

1. A simulated year (the 10-rep team of history.py: a vdir that keeps every past week's
   files). At week 1, 26 and 52, `coachd once` is run as a new process 10 minutes apart:
   **first-ever** (the calendar cache deleted before each run, so every file in reach is
   pre-scanned or parsed) and **with the cache** (left by the run before).
2. Fresh worlds of 10, 50, 200 and 400 reps (the snapshot window of calendars, as
   plan_scale.py builds them, written as .ics files): `coachd plan`, first-ever and with the
   cache (which a dry run only reads: one `coachd once` leaves it, as cron or the daemon
   would), and for 200 reps `khal list` over the same window and folder with khal's own
   cache warm (when khal is installed: `pip install '.[bench]'`).
3. `coachd --help`.

Each figure is the median of `--runs` runs (default 5; first-ever runs of 200 and 400 reps
once each: they take long). The clock is pinned with bench/_at.py (the CLI's one clock
seam), nothing else differs from what cron runs. Targets: `once` week 52 <= 1.0 s with the
cache and <= 4 s first-ever, growth week 1 -> 52 <= 1.3x; `plan` 200 reps <= 2 s and 400
reps <= 4 s with the cache; <= 0.5x khal's warm time; `--help` <= 0.15 s.

Run from the repository root: `python bench/cold_start.py [--quick] [--workdir DIR]
[--prepare] [--runs N] [--weeks N] [--skip-plan]`. `--quick` (3 runs, first-ever `plan` only
up to 50 reps, khal on the 10-rep folder) fits in about 10 minutes on a shared machine;
`--workdir DIR --prepare` writes the worlds once (the year's snapshots at weeks 1/26/52, the
team folders), and a later run with the same `--workdir` measures on fresh copies of them.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import _common as c  # puts the repository root on sys.path, before first-party imports
import history
import yaml

from integrations.calendar.ics_encode import encode_event
from integrations.calendar.vdir import item_filename
from integrations.store.state import StateStore
from integrations.tick.app import CACHE_NAME
from planner.periods import snapshot_window
from planner.policy import Policy

AT = Path(__file__).resolve().parent / "_at.py"
PLAN_NOW = datetime(2026, 11, 30, 6, 0, tzinfo=c.TZ)
TEAMS = (10, 50, 200, 400)
KHAL_TEAM = 200
CLONE_FROM = 50  # reps written through icalendar; more are copies (see write_team)


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float  # user + system seconds of the process


# The children run as an installed coachd does: with its modules' bytecode cached (pip
# compiles it at install). A shell with PYTHONDONTWRITEBYTECODE set would otherwise make
# every process compile coachd's own ~80 modules again (~0.5 s of CPU).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def compile_sources() -> None:
    """Bytecode for coachd's modules, as an install leaves it."""
    root = Path(__file__).resolve().parents[1]
    for name in ("daemon.py", "planner", "integrations"):
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(root / name)],
            check=True,
            stdout=subprocess.DEVNULL,
            env=CHILD_ENV,
        )


def run(cmd: Sequence[str], env: dict[str, str] | None = None) -> Run:
    """One process, timed; its output is discarded, a failure stops the bench."""
    env = CHILD_ENV if env is None else env
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False, env=env
    )
    took = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # 1: a tick with a reported problem still ran
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.decode()[-2000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return Run(took, cpu)


def coachd_at(at: datetime, *args: str) -> list[str]:
    return [sys.executable, str(AT), at.isoformat(), "--log-level", "ERROR", *args]


def drop_cache(state_dir: Path) -> None:
    for p in state_dir.glob(CACHE_NAME + "*"):
        p.unlink()


def med(xs: Sequence[Run]) -> Run:
    return Run(statistics.median(r.wall for r in xs), statistics.median(r.cpu for r in xs))


def fig(r: Run) -> str:
    return f"{r.wall:.2f} s ({r.cpu:.2f} s CPU)"


# --- 0. what one file costs ---------------------------------------------------------------


def parse_figures(n: int = 300) -> list[list[object]]:
    """Microseconds per file to parse it in full, with standard VTIMEZONEs skipped, and to
    pre-scan it, for one meeting written three ways."""
    import icalendar

    from integrations.calendar import prescan
    from integrations.calendar.ics_decode import parse_ics
    from integrations.calendar.ics_encode import EventSpec

    start = PLAN_NOW + timedelta(days=2, hours=4)
    spec = EventSpec(uid="m@x", start=start, end=start + timedelta(hours=1), summary="Forecast")
    ours = encode_event(spec, c.TZ, PLAN_NOW)

    def rewritten(zone_years: tuple[int, int] | None) -> bytes:
        """coachd's file with a longer zone definition, or in UTC without any."""
        cal = icalendar.Calendar.from_ical(ours)
        cal.subcomponents = [x for x in cal.subcomponents if x.name != "VTIMEZONE"]
        if zone_years is None:
            for ev in cal.walk("VEVENT"):
                for name in ("DTSTART", "DTEND"):
                    value = ev.decoded(name).astimezone(UTC)
                    del ev[name]
                    ev.add(name, value)
        else:
            first, last = (date(y, 1, 1) for y in zone_years)
            cal.add_missing_timezones(first_date=first, last_date=last)
        data: bytes = cal.to_ical()
        return data

    def us(fn: Callable[[bytes], object], data: bytes) -> str:
        for _ in range(10):  # warm-up: first-use imports and caches
            fn(data)
        t0 = time.perf_counter()
        for _ in range(n):
            fn(data)
        return f"{(time.perf_counter() - t0) / n * 1e6:.0f} us"

    def stripped(data: bytes) -> object:
        return parse_ics(prescan.strip_standard_vtimezones(data))

    rows: list[list[object]] = []
    for label, data in (
        ("coachd's own (VTIMEZONE for 4 years)", ours),
        ("a client's (VTIMEZONE 1970-2038, as the demo's)", rewritten((1970, 2038))),
        ("UTC times, no VTIMEZONE", rewritten(None)),
    ):
        rows.append(
            [
                f"{label}, {len(data)} bytes",
                us(parse_ics, data),
                us(stripped, data),
                us(prescan.scan, data),
            ]
        )
    return rows


# --- 1. a simulated year ------------------------------------------------------------------


def year_snapshots(weeks: int, work: Path) -> dict[int, tuple[Path, datetime]]:
    """{week: (folder, instant)}: the simulated deployment as it stood at weeks 1, 26 and the
    last, each copied aside (config, calendar, KPIs, state) after that week's tick. Copies
    kept from an earlier run in `work` (a `.done` file beside each) are reused."""
    measured = sorted({1, min(26, weeks), weeks})
    out: dict[int, tuple[Path, datetime]] = {}
    for week in measured:
        done = work / f"year-{weeks}w-week{week}.done"
        if done.exists():
            out[week] = (
                work / f"year-{weeks}w-week{week}",
                datetime.fromisoformat(done.read_text()),
            )
    if len(out) == len(measured):
        print(f"  year: reusing the snapshots in {work}", file=sys.stderr)
        return out
    sim = work / f"year-{weeks}w-sim"
    shutil.rmtree(sim, ignore_errors=True)
    sim.mkdir(parents=True)
    year = history.Year(sim)
    policy = year.loaded.policy
    sim_cal = year.calendar()
    for k in range(weeks):
        week = k + 1
        now = history.START + timedelta(weeks=k)
        year.advance(now)
        with StateStore.open(year.state_path, now=now) as store:
            history.tick(year, store, now, sim_cal)
            store.compact(now, policy.state.keep_weeks)
        if week in measured:
            dest = work / f"year-{weeks}w-week{week}"
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(sim, dest, symlinks=True)
            (work / f"year-{weeks}w-week{week}.done").write_text(now.isoformat())
            out[week] = (dest, now)
            print(f"  year: week {week} simulated", file=sys.stderr)
    shutil.rmtree(sim, ignore_errors=True)
    return out


def year_figures(
    snapshots: dict[int, tuple[Path, datetime]], runs: int
) -> dict[int, tuple[int, Run, Run]]:
    """{week: (.ics files, first-ever median, with-cache median)} of `coachd once`, each on a
    fresh copy of that week's snapshot (so a kept snapshot is never changed)."""
    out: dict[int, tuple[int, Run, Run]] = {}
    with tempfile.TemporaryDirectory(prefix="coachd-cold-") as tmp:
        for week, (snap, now) in sorted(snapshots.items()):
            root = Path(tmp) / f"week{week}"
            shutil.copytree(snap, root, symlinks=True)
            config = str(root / "config.yaml")
            state_dir = root / "state"
            t = now
            first: list[Run] = []
            cached: list[Run] = []
            for _ in range(runs):
                t += history.STEP
                drop_cache(state_dir)
                first.append(run(coachd_at(t, "once", "--config", config)))
            for _ in range(runs):
                t += history.STEP
                cached.append(run(coachd_at(t, "once", "--config", config)))
            files = sum(1 for _ in (root / "calendar").rglob("*.ics"))
            out[week] = (files, med(first), med(cached))
            print(
                f"  once week {week}: {files} files, {fig(out[week][1])} first-ever, "
                f"{fig(out[week][2])} cached",
                file=sys.stderr,
            )
            shutil.rmtree(root)
    return out


# --- 2. fresh teams -----------------------------------------------------------------------


def write_team(root: Path, n: int) -> tuple[Path, int]:
    """config.yaml, kpis.csv and the calendars of the snapshot window; (config, files)."""
    pol = c.policy_dict(n, PLAN_NOW.date())
    pol.update(
        {
            "kpi_source": {"type": "csv", "path": "kpis.csv"},
            "email": {"transport": "maildir", "from": f"coachd@{c.DOMAIN}"},
            "calendar": {"backend": "local", "local": {"path": "calendar"}},
            "state": {"path": "state/coachd.json"},
        }
    )
    config = root / "config.yaml"
    config.write_text(yaml.safe_dump(pol, sort_keys=False), encoding="utf-8")
    policy = Policy.model_validate(pol)
    anchor = PLAN_NOW.date() - timedelta(weeks=26)
    world = c.World([r.email for r in policy.team], anchor=anchor)
    window = snapshot_window(policy, PLAN_NOW)
    cal = root / "calendar"
    files = 0

    def write(owner: str, spec: object) -> None:
        nonlocal files
        folder = cal / owner
        folder.mkdir(parents=True, exist_ok=True)
        data = encode_event(spec, c.TZ, PLAN_NOW)  # type: ignore[arg-type]
        (folder / item_filename(spec.uid)).write_bytes(data)  # type: ignore[attr-defined]
        files += 1

    for s in world.manager_series():
        write(c.MANAGER, c.series_spec(s, anchor))
    for monday in c.mondays(window):
        for m in world.manager_singles(monday):
            write(c.MANAGER, c.to_spec(m))
        for rep in world.reps[:CLONE_FROM]:
            for m in world.rep_week(rep, monday):
                write(rep, c.to_spec(m))
    # Beyond the first CLONE_FROM reps, each rep's calendar is a copy of rep (i mod
    # CLONE_FROM)'s under its own address: writing 48,000 files through icalendar takes ten
    # minutes and more; a rep's calls are equally random either way.
    for i, rep in enumerate(world.reps[CLONE_FROM:], start=CLONE_FROM):
        files += clone_calendar(cal, world.reps[i % CLONE_FROM], rep)
    with (root / "kpis.csv").open("w", encoding="utf-8") as fh:
        fh.write("week,rep,kpi,value\n")
        for k in range(1, 9):
            for row in world.kpi_week(PLAN_NOW.date() - timedelta(weeks=k)):
                fh.write(f"{row.week.isoformat()},{row.rep},{row.kpi},{row.value}\n")
    return config, files


def clone_calendar(cal: Path, source: str, owner: str) -> int:
    """Copy `source`'s folder to `owner`'s with the address (same length: rep000 ->
    rep123) replaced in names and contents, so folded lines stay as they were. Refuses a
    file where the address is split by a fold (it would be left half replaced)."""
    old_id, new_id = source.split("@")[0].encode(), owner.split("@")[0].encode()
    if len(old_id) != len(new_id):
        raise SystemExit(f"cannot clone {source} as {owner}: addresses of different lengths")
    dest = cal / owner
    dest.mkdir(parents=True, exist_ok=True)
    n = 0
    for f in (cal / source).iterdir():
        data = f.read_bytes()
        if data.count(old_id) != data.replace(b"\r\n ", b"").count(old_id):
            raise SystemExit(f"{f}: the address is split by a folded line")
        name = f.name.replace(old_id.decode(), new_id.decode())
        (dest / name).write_bytes(data.replace(old_id, new_id))
        n += 1
    return n


def khal_bin() -> str | None:
    near = Path(sys.executable).parent / "khal"
    return str(near) if near.exists() else shutil.which("khal")


def khal_list(root: Path, khal: str, runs: int) -> Run:
    """Median wall time of `khal list` over the snapshot window, its cache warm."""
    conf = root / "khal.conf"
    conf.write_text(
        "[calendars]\n[[team]]\n"
        f"path = {root / 'calendar'}/*\ntype = discover\n"
        "[locale]\ntimeformat = %H:%M\ndateformat = %Y-%m-%d\nlongdateformat = %Y-%m-%d\n"
        "datetimeformat = %Y-%m-%d %H:%M\nlongdatetimeformat = %Y-%m-%d %H:%M\n"
        f"local_timezone = {c.TZ_NAME}\ndefault_timezone = {c.TZ_NAME}\n"
        f"[sqlite]\npath = {root / 'khal.db'}\n",
        encoding="utf-8",
    )
    start = PLAN_NOW.date() - timedelta(weeks=5)
    cmd = [khal, "-c", str(conf), "list", start.isoformat(), "63d"]
    env = {**CHILD_ENV, "XDG_DATA_HOME": str(root / "xdg"), "XDG_CONFIG_HOME": str(root)}
    run(cmd, env)  # fills its cache
    return med([run(cmd, env) for _ in range(runs)])


def team_world(work: Path, n: int) -> tuple[Path, int]:
    """The fresh world of n reps, written once into `work` and reused by later runs:
    (folder, .ics files)."""
    pristine = work / f"team-{n}"
    done = work / f"team-{n}.done"
    if done.exists():
        return pristine, int(done.read_text())
    shutil.rmtree(pristine, ignore_errors=True)
    pristine.mkdir(parents=True)
    _, files = write_team(pristine, n)
    done.write_text(str(files))
    print(f"  plan: {n}-rep world written ({files} files)", file=sys.stderr)
    return pristine, files


def team_figures(
    work: Path, runs: int, first_ever_max: int, khal_team: int
) -> tuple[list[list[object]], dict[str, Run]]:
    rows: list[list[object]] = []
    khal_vs: dict[str, Run] = {}
    for n in TEAMS:
        pristine, files = team_world(work, n)
        with tempfile.TemporaryDirectory(prefix=f"coachd-plan{n}-") as tmp:
            root = Path(tmp) / "world"
            shutil.copytree(pristine, root, symlinks=True)
            config = root / "config.yaml"
            cmd = coachd_at(PLAN_NOW, "plan", "--config", str(config))
            first: list[Run] = []
            if n <= first_ever_max:
                for _ in range(1 if n >= 200 else runs):
                    drop_cache(root / "state")
                    first.append(run(cmd))
            # The cache a real run leaves (a dry run only reads it): one `coachd once`.
            run(coachd_at(PLAN_NOW, "once", "--config", str(config)))
            cached = [run(cmd) for _ in range(runs)]
            rows.append([n, files, fig(med(first)) if first else "not run", fig(med(cached))])
            # The figures as they come, too: a run stopped early still shows what it measured.
            print(
                f"  plan {n} reps: {rows[-1][2]} first-ever, {rows[-1][3]} cached", file=sys.stderr
            )
            khal = khal_bin()
            if n == khal_team and khal is not None:
                khal_vs = {"khal": khal_list(root, khal, runs), "coachd": med(cached)}
    return rows, khal_vs


def verdict(label: str, value: float, target: float, unit: str = " s") -> list[object]:
    """One row of the targets table: the figure, the target, figure / target."""
    ratio = value / target
    return [
        label,
        f"{value:.2f}{unit}",
        f"<= {target:g}{unit}",
        f"{ratio:.2f}",
        "met" if ratio <= 1 else "MISSED",
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=None, help="runs per figure (default 5, --quick 3)")
    ap.add_argument("--weeks", type=int, default=52, help="weeks of the simulated year")
    ap.add_argument("--skip-plan", action="store_true", help="only the year and --help")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="3 runs, no first-ever `plan` of 200/400 reps, khal on the 10-rep folder "
        "(fits in ~10 minutes on a shared machine)",
    )
    ap.add_argument(
        "--workdir",
        type=Path,
        help="keep the generated worlds (year snapshots, team folders) here and reuse them "
        "in later runs (default: a temporary folder)",
    )
    ap.add_argument(
        "--prepare", action="store_true", help="only generate the worlds into --workdir"
    )
    args = ap.parse_args()
    c.quiet_logging()
    runs = max(1, args.runs if args.runs is not None else (3 if args.quick else 5))
    weeks = max(2, args.weeks)
    first_ever_max = 50 if args.quick else max(TEAMS)
    khal_team = 10 if args.quick else KHAL_TEAM
    if args.prepare and args.workdir is None:
        ap.error("--prepare needs --workdir")
    with tempfile.TemporaryDirectory(prefix="coachd-worlds-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.prepare:
            year_snapshots(weeks, work)
            for n in TEAMS:
                team_world(work, n)
            return 0
        return measure(args, work, runs, weeks, first_ever_max, khal_team)


def measure(
    args: argparse.Namespace, work: Path, runs: int, weeks: int, first_ever_max: int, khal_team: int
) -> int:
    c.print_header(
        "coachd benchmark: cold processes on the local backend",
        [
            ("year", f"history.py's {history.N_REPS}-rep team, {weeks} weekly cycles, files kept"),
            ("once", "a new process 10 minutes apart; first-ever = calendar cache deleted"),
            ("plan", f"fresh worlds of {', '.join(map(str, TEAMS))} reps at {PLAN_NOW}"),
            ("khal", f"`khal list` over the snapshot window, {khal_team} reps, its cache warm"),
            (
                "runs",
                f"median of {runs} (first-ever plan: 1 run for 200+ reps"
                + (", not run above 50 reps (--quick))" if first_ever_max < max(TEAMS) else ")"),
            ),
            ("worlds", f"generated into {args.workdir} and reused" if args.workdir else "fresh"),
            ("bytecode", "coachd's modules compiled first, as pip install does"),
        ],
    )
    print(
        c.table(
            ["one file", "full parse", "standard VTIMEZONE skipped", "pre-scan"],
            parse_figures(),
        )
    )
    print()
    compile_sources()
    near = Path(sys.executable).parent / "coachd"  # this tree's venv, not another on PATH
    coachd = str(near) if near.exists() else (shutil.which("coachd") or "coachd")
    helps = [run([coachd, "--help"]) for _ in range(runs)]
    print(f"  --help: {fig(med(helps))}", file=sys.stderr)

    year = year_figures(year_snapshots(weeks, work), runs)
    print(
        c.table(
            ["`coachd once`", *(f"week {w}" for w in year)],
            [
                [".ics files in the vdir", *(str(v[0]) for v in year.values())],
                ["first-ever run (no cache)", *(fig(v[1]) for v in year.values())],
                ["with the cache", *(fig(v[2]) for v in year.values())],
            ],
        )
    )
    first_w, last_w = min(year), max(year)
    a, b = year[first_w], year[last_w]
    print()
    print(
        f"growth week {first_w} -> {last_w}: first-ever {b[1].wall / a[1].wall:.2f}x, "
        f"with the cache {b[2].wall / a[2].wall:.2f}x (CPU {b[2].cpu / a[2].cpu:.2f}x)"
    )
    print()
    targets = [
        verdict(f"once week {last_w}, with the cache", b[2].wall, 1.0),
        verdict(f"once week {last_w}, first-ever", b[1].wall, 4.0),
        verdict(f"once growth week {first_w} -> {last_w} (cache)", b[2].wall / a[2].wall, 1.3, "x"),
    ]
    if not args.skip_plan:
        rows, khal_vs = team_figures(work, runs, first_ever_max, khal_team)
        print(c.table(["`coachd plan`, reps", ".ics files", "first-ever", "with the cache"], rows))
        print()
        cached = {int(str(r[0])): float(str(r[3]).split()[0]) for r in rows}
        targets.append(verdict("plan 200 reps, with the cache", cached[200], 2.0))
        targets.append(verdict("plan 400 reps, with the cache", cached[400], 4.0))
        if khal_vs:
            k, ours = khal_vs["khal"], khal_vs["coachd"]
            print(
                f"khal list ({khal_team} reps, same folder and window, warm cache): {fig(k)}; "
                f"coachd plan with the cache {fig(ours)} (CPU {ours.cpu / k.cpu:.2f}x khal's)"
            )
            print()
            targets.append(
                verdict(f"plan / khal list, {khal_team} reps (warm)", ours.wall / k.wall, 0.5, "x")
            )
        else:
            print("khal: not installed (pip install '.[bench]'), no comparison")
            print()
    targets.append(verdict("coachd --help", med(helps).wall, 0.15))
    print("targets (wall time, median; ratio = figure / target, <= 1 is met):")
    print(c.table(["figure", "measured", "target", "ratio", ""], targets))
    print(f"`coachd --help`: {fig(med(helps))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
