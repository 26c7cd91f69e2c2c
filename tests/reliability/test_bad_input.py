"""Bad input: hostile or broken config files, .ics files, KPI rows and state files.

- `coachd check` on any config file (wrong types, unknown keys, YAML tags, huge values, deep
  nesting, alias bombs, binary junk) exits 0 or 1 with a message, never a traceback, and
  never runs what a YAML tag names.
- A malformed .ics file or KPI row is skipped with a warning naming it; the tick succeeds.
- A corrupt or empty state file at start-up is kept as `*.corrupt-*` with its bytes, reported
  (log, exit 1, `coachd status`), and a fresh state begins.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon import main

PWNED = "coachd-pwned"

# --- config files ----------------------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**100, -(10**30), 2**63, -1, 0])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.text(max_size=5).map(lambda s: s * 20_000)  # a huge string
    | st.sampled_from(
        [
            "10m",
            "0 days",
            "-1 week",
            "25:99",
            "${COACHD_TEST_UNSET_VARIABLE}",
            "not-an-email",
            "Mars/Olympus_Mons",
            "../../../etc/passwd",
            "\x00\x1b[31m\u2028",
        ]
    )
)
_values = st.recursive(
    _scalars,
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path in a loaded config (list items by index)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A demo folder (so file references resolve) and its config as data."""
    folder = tmp_path_factory.mktemp("badinput") / "demo"
    assert main(["init", str(folder), "--demo"]) == 0
    return folder, yaml.safe_load((folder / "config.yaml").read_text())


def _mutated(base: dict[str, Any], data: st.DataObject) -> str:
    """The demo config with a few keys replaced, added or removed, as YAML text."""
    conf = copy.deepcopy(base)
    paths = list(_paths(conf))
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        path = data.draw(st.sampled_from(paths), label="path")
        parent: Any = conf
        try:
            for k in path[:-1]:
                parent = parent[k]
            what = data.draw(st.sampled_from(["set", "unknown", "delete"]), label="edit")
            if what == "set":
                parent[path[-1]] = data.draw(_values, label="value")
            elif what == "unknown" and isinstance(parent, dict):
                parent[data.draw(st.text(min_size=1, max_size=12), label="key")] = data.draw(
                    _values
                )
            elif isinstance(parent, dict):
                parent.pop(path[-1], None)
            elif isinstance(parent, list) and parent:
                parent.pop()
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced the path
    return yaml.safe_dump(conf, allow_unicode=True, sort_keys=False)


def _nasty(marker: Path) -> st.SearchStrategy[bytes]:
    """Whole files written by hand: tags, bombs, nesting, junk."""
    tags = [
        f'manager: !!python/object/apply:os.system ["touch {marker}"]\n',
        f'!!python/object/apply:subprocess.call [["touch", "{marker}"]]\n',
        "team: !!python/name:os.system\n",
        "manager: !!binary aGVsbG8=\n",
        "x: !custom {a: 1}\n",
        "%YAML 1.1\n%TAG ! tag:evil:\n---\nmanager: !x y\n",
    ]
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{n}: &{n} [{','.join(['*' + p] * 9)}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    nested = ["k: " + "[" * 10_000 + "]" * 10_000 + "\n", "k:" + "\n  k:" * 3000 + " 1\n"]
    return (
        st.sampled_from([*tags, bomb, *nested, "", "\n", "---\n...\n", "- a\n- b\n", "42\n"]).map(
            str.encode
        )
        | st.binary(max_size=3000)
        | st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass"))
        | st.sampled_from([b"\xff\xfe\x00m\x00a", b"\x00" * 100, b"manager:\n\t- tab\n"])
    )


def _check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["check", "--config", str(path)])
    out = capsys.readouterr()
    return code, out.out + out.err


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_check_never_crashes_on_a_mutated_config(
    data: st.DataObject,
    demo_config: tuple[Path, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, base = demo_config
    path = folder / "mutated.yaml"
    path.write_text(_mutated(base, data), encoding="utf-8")
    code, out = _check(path, capsys)
    assert code in (0, 1), out
    assert "Traceback" not in out
    if code == 1:
        assert str(path) in out or "mutated.yaml" in out, (
            f"the error does not name the file:\n{out}"
        )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_check_never_crashes_or_obeys_a_hostile_file(
    data: st.DataObject,
    demo_config: tuple[Path, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, _ = demo_config
    marker = folder / PWNED
    path = folder / "hostile.yaml"
    path.write_bytes(data.draw(_nasty(marker), label="file"))
    code, out = _check(path, capsys)
    assert code == 1, f"a broken config passed the check:\n{out}"
    assert "Traceback" not in out and "hostile.yaml" in out
    assert not marker.exists(), "a YAML tag ran a command"


def test_a_missing_or_unreadable_config_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _check(tmp_path / "nope.yaml", capsys)
    assert code == 1 and "nope.yaml" in out and "Traceback" not in out
    (tmp_path / "dir.yaml").mkdir()
    code, out = _check(tmp_path / "dir.yaml", capsys)
    assert code == 1 and "dir.yaml" in out and "Traceback" not in out


# --- calendar files and KPI rows ------------------------------------------------------------

MANAGER_DIR = "calendar/dana.reyes@acme-demo.com"
REP_DIR = "calendar/alex.kim@acme-demo.com"
BAD_ICS = {
    f"{MANAGER_DIR}/garbage.ics": b"\x00\xffnot a calendar at all\n",
    f"{MANAGER_DIR}/no-dtstart.ics": (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x1\r\nSUMMARY:no start\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    ),
    f"{MANAGER_DIR}/truncated.ics": (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x2\r\nDTSTART:2026"
    ),
    f"{MANAGER_DIR}/bad-rrule.ics": (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x3\r\n"
        b"DTSTART:20261201T100000Z\r\nDTEND:20261201T090000Z\r\nRRULE:FREQ=SOMETIMES\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    ),
    f"{REP_DIR}/rep-garbage.ics": b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n\r\n\r\n",
}
BAD_KPI_ROWS = [
    "not-a-date,alex.kim@acme-demo.com,outbound_calls,50",
    "2026-11-23,nobody@acme-demo.com,outbound_calls,50",
    "2026-11-23,alex.kim@acme-demo.com,no_such_kpi,50",
    "2026-11-23,alex.kim@acme-demo.com,outbound_calls,lots",
    "2026-11-23,alex.kim@acme-demo.com,outbound_calls,inf",
    "2026-11-23,alex.kim@acme-demo.com",
]


def test_malformed_ics_and_kpi_rows_are_skipped_with_named_warnings(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for rel, data in BAD_ICS.items():
        (demo / rel).write_bytes(data)
    kpis = demo / "kpis.csv"
    good_lines = len(kpis.read_text().splitlines())
    kpis.write_text(kpis.read_text() + "\n".join(BAD_KPI_ROWS) + "\n")

    assert main(["once", "--config", str(demo / "config.yaml")]) == 0
    captured = capsys.readouterr()
    err = captured.err

    assert "Traceback" not in err
    for rel in BAD_ICS:
        if rel.startswith(MANAGER_DIR):
            assert Path(rel).name in err, f"no warning names {rel}"
    for n in range(len(BAD_KPI_ROWS)):
        assert f"kpis.csv:{good_lines + 1 + n}: skipped" in err
    # The good data still counted: the tick booked and emailed as usual.
    assert "coachd once: ok" in captured.out
    assert "booked " in captured.out and "emailed " in captured.out


# --- the state file ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"", b"   \n", b'{"bookings": {"1": {"key": "x"', b"\x00\x01garbage", b"[1, 2, 3]"],
    ids=["empty", "blank", "truncated", "binary", "not-tables"],
)
def test_an_unreadable_state_is_kept_reported_and_replaced_by_a_fresh_one(
    demo: Path, content: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(demo / "config.yaml")
    state = demo / "state" / "coachd.json"
    state.parent.mkdir()
    state.write_bytes(content)

    code = main(["once", "--config", cfg])
    err = capsys.readouterr().err

    backups = list(state.parent.glob("coachd.json.corrupt-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == content
    assert code == 1, "a recovery must not look like a clean run"
    assert backups[0].name in err and "Traceback" not in err
    assert main(["status", "--config", cfg]) == 0
    status = capsys.readouterr().out
    assert backups[0].name in status, "status must show that the state was recovered"
    # The fresh state is a real one, and the tick still ran on it (bookings adopted).
    assert main(["once", "--config", cfg]) == 0
    assert list(state.parent.glob("coachd.json.corrupt-*")) == backups


def test_a_state_corrupted_between_runs_loses_no_booking(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(demo / "config.yaml")
    assert main(["once", "--config", cfg]) == 0
    folder = demo / MANAGER_DIR
    before = sorted(p.name for p in folder.glob("*.ics"))
    box = demo / "outbox"
    mails_before = sum(1 for _ in (box / "new").iterdir())
    (demo / "state" / "coachd.json").write_bytes(b"\x00")

    main(["once", "--config", cfg])

    # The calendar is the truth: tagged events are adopted, nothing is booked twice, and
    # the Maildir recognises every Message-ID, so no email is delivered again.
    assert sorted(p.name for p in folder.glob("*.ics")) == before
    assert sum(1 for _ in (box / "new").iterdir()) == mails_before
    shutil.rmtree(demo / "state")
