"""org.yaml ⊕ managers/<email>.yaml: the merge rule, and errors that name the wrong file."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.errors import ConfigError
from integrations.org.config import load_manager, load_org, manager_files, problem_files
from integrations.org.merge import deep_merge, merge_origins
from integrations.org.roster import load_roster

DANA = "dana.reyes@acme-demo.com"
OMAR = "omar.nasri@acme-demo.com"


def test_maps_merge_key_by_key_and_lists_replace() -> None:
    base = {"coaching": {"buffer": "10m", "huddle": {"days": ["mon", "wed"], "time": "08:30"}}}
    over = {"coaching": {"huddle": {"days": ["fri"]}}, "kpis": []}
    assert deep_merge(base, over) == {
        "coaching": {"buffer": "10m", "huddle": {"days": ["fri"], "time": "08:30"}},
        "kpis": [],
    }
    # null in the overlay sets null; it does not fall back to the default.
    assert deep_merge({"a": {"b": 1}}, {"a": None}) == {"a": None}


def test_origins_of_a_replaced_list_are_the_overlays_only() -> None:
    org, mine = Path("org.yaml"), Path("m.yaml")
    base_data = {"days": ["mon", "wed"], "m": {"x": 1, "y": 2}}
    over_data = {"days": ["fri"], "m": {"y": 3}}
    base = {("days",): (org, 3), ("days", 0): (org, 3), ("days", 1): (org, 3),
            ("m",): (org, 5), ("m", "x"): (org, 6), ("m", "y"): (org, 7)}  # fmt: skip
    over = {("days",): (mine, 1), ("days", 0): (mine, 1), ("m",): (mine, 2),
            ("m", "y"): (mine, 3)}  # fmt: skip
    got = merge_origins(base, over, base_data, over_data)
    assert ("days", 1) not in got  # the default's second day is gone with its list
    assert got[("days", 0)] == (mine, 1)
    assert got[("m", "x")] == (org, 6)  # merged mapping: the default's key stays org.yaml's
    assert got[("m", "y")] == (mine, 3)


def test_each_manager_gets_the_defaults_and_their_own_state(demo_org: Path) -> None:
    org = load_org(demo_org / "org.yaml")
    files = manager_files(org)
    assert sorted(files) == [DANA, "ines.moura@acme-demo.com", OMAR]
    dana = load_manager(org, DANA, files[DANA])
    omar = load_manager(org, OMAR, files[OMAR])
    assert dana.policy.kpis == omar.policy.kpis  # from org.yaml's defaults
    assert omar.policy.team[0].name == "Beth Roe"
    assert dana.policy.state.path == f"state/{DANA}/coachd.json"
    assert omar.policy.calendar.local.path == f"calendars/{OMAR}"  # {manager} filled in
    assert omar.base_dir == demo_org.resolve()


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_error_names_the_manager_file_and_its_line(demo_org: Path) -> None:
    org = load_org(demo_org / "org.yaml")
    path = manager_files(org)[OMAR]
    _replace(path, 'end: "17:30"', 'end: "25:30"')
    line = path.read_text(encoding="utf-8").splitlines().index('    end: "25:30"') + 1
    with pytest.raises(ConfigError) as e:
        load_manager(org, OMAR, path)
    assert e.value.errors == [
        f"{path}:{line}: manager.working_hours.end: not a time: '25:30' "
        '(write "HH:MM", 24-hour, in quotes)'
    ]


def test_an_error_in_the_defaults_names_org_yaml(demo_org: Path) -> None:
    org_yaml = demo_org / "org.yaml"
    _replace(org_yaml, "    tick: 10m", "    tick: 0s")
    lines = org_yaml.read_text(encoding="utf-8").splitlines()
    line = next(i for i, t in enumerate(lines, 1) if t.startswith("    tick: 0s"))
    with pytest.raises(ConfigError) as e:
        load_org(org_yaml)
    assert e.value.errors == [
        f"{org_yaml}:{line}: defaults.daemon.tick: must be between 1s and 6h (got 0m)"
    ]


def test_a_manager_key_a_default_cannot_hold_is_refused(demo_org: Path) -> None:
    org_yaml = demo_org / "org.yaml"
    _replace(org_yaml, "defaults:\n", "defaults:\n  team: []\n")
    with pytest.raises(ConfigError) as e:
        load_org(org_yaml)
    assert any("defaults.team: team is per manager" in m for m in e.value.errors)


def test_the_file_name_is_the_managers_address(demo_org: Path) -> None:
    org = load_org(demo_org / "org.yaml")
    path = manager_files(org)[OMAR]
    _replace(path, f"email: {OMAR}", "email: someone.else@acme-demo.com")
    with pytest.raises(ConfigError) as e:
        load_manager(org, OMAR, path)
    assert "manager.email: must be omar.nasri@acme-demo.com" in e.value.errors[0]
    (demo_org / "managers" / "not-an-address.yaml").write_text("manager: {}\n")
    assert problem_files(org) == [
        f"{demo_org / 'managers' / 'not-an-address.yaml'}:1: (file name): must be the "
        "manager's address, like dana@example.com.yaml"
    ]


def test_one_broken_file_leaves_the_others_loaded(demo_org: Path) -> None:
    org = load_org(demo_org / "org.yaml")
    (demo_org / "managers" / f"{OMAR}.yaml").write_text("manager: [\n", encoding="utf-8")
    roster = {e.email: e for e in load_roster(org)}
    assert roster[OMAR].loaded is None
    assert roster[OMAR].errors[0].startswith(f"{demo_org / 'managers' / OMAR}.yaml:")
    assert roster[DANA].loaded is not None
    assert roster["ines.moura@acme-demo.com"].loaded is not None
