"""config.yaml loading: YAML 1.2 scalars, safe tags, env secrets, and errors with lines."""

from __future__ import annotations

import textwrap
from datetime import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.config_file import check_files, file_warnings, load_policy
from integrations.errors import ConfigError, UserError
from integrations.yaml_lines import read_yaml

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"

BASE = """\
manager:
  name: Dana Reyes
  email: dana@example.com
  timezone: America/Chicago
team:
  - name: Alex Kim
    email: alex@example.com
"""


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in tmp_path so the config is named `config.yaml`, as a user would type it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(text: str) -> Path:
    path = Path("config.yaml")
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def errors_of(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_policy(write(text), environ=environ or {})
    return exc.value.errors


def test_the_three_errors_from_the_issue(here: Path) -> None:
    kpis = "".join(
        f"  - id: k{i}\n    name: KPI {i}\n    minimum: 1\n    goal: 2\n" for i in range(8)
    )
    text = (
        "manager:\n"  # 1
        "  name: Dana\n"  # 2
        "  email: dana@example.com\n"  # 3
        "  timezone: America/Chicgo\n"  # 4
        "  workng_hours:\n"  # 5
        '    start: "08:00"\n'  # 6
        '    end: "17:00"\n'  # 7
        "team:\n"  # 8
        "  - name: Alex\n"  # 9
        "    email: alex@example.com\n"  # 10
        "kpis:\n" + kpis  # 11  # item i starts on line 12 + 4*i; the 8th (index 7) on line 40
    )
    errs = errors_of(text)
    assert errs == [
        "config.yaml:4: manager.timezone: unknown IANA timezone 'America/Chicgo' "
        "(use a name like America/Chicago)",
        "config.yaml:5: manager.workng_hours: unknown key 'workng_hours' "
        "(did you mean 'working_hours'?)",
        "config.yaml:40: kpis[7]: at most 7 KPIs are allowed; this is number 8",
    ]


def test_yaml_12_scalars_norway_yes_and_sexagesimal(here: Path) -> None:
    doc = read_yaml("a: NO\nb: yes\nc: 9:30\nd: off\ne: True\nf: 0x1F\ng: 2026-01-05\nh: ~\n")
    assert doc.data == {
        "a": "NO",
        "b": "yes",
        "c": "9:30",
        "d": "off",
        "e": True,
        "f": "0x1F",
        "g": "2026-01-05",
        "h": None,
    }
    loaded = load_policy(
        write(
            BASE + "  - name: NO\n    email: no@example.com\ncoaching:\n  huddle:\n    time: 9:30\n"
        )
    )
    assert loaded.policy.team[1].name == "NO"
    assert loaded.policy.coaching.huddle.time == time(9, 30)


def test_python_tag_is_an_error_and_never_runs(here: Path) -> None:
    marker = here / "pwned"
    errs = errors_of(
        BASE + f'  - name: !!python/object/apply:os.system ["touch {marker}"]\n'
        "    email: x@example.com\n"
    )
    assert not marker.exists()
    assert len(errs) == 1
    assert errs[0].startswith("config.yaml:8: team[1].name: explicit tag !!python/object/apply")


def test_duplicate_key_points_at_the_second(here: Path) -> None:
    errs = errors_of(BASE + "daemon:\n  tick: 5m\n  log_level: INFO\n  tick: 15m\n")
    assert errs == ["config.yaml:11: daemon.tick: duplicate key 'tick' (first given on line 9)"]


def test_env_substitution_set(here: Path) -> None:
    text = BASE + "email:\n  smtp:\n    password: ${SMTP_PASSWORD}\n    username: u-${USER_X}\n"
    loaded = load_policy(write(text), environ={"SMTP_PASSWORD": "s3cret", "USER_X": "dana"})
    assert loaded.policy.email.smtp.password == "s3cret"
    assert loaded.policy.email.smtp.username == "u-dana"


def test_env_substitution_unset_is_an_error_at_its_line(here: Path) -> None:
    errs = errors_of(BASE + "email:\n  smtp:\n    password: ${SMTP_PASSWORD}\n")
    assert errs == [
        "config.yaml:10: email.smtp.password: environment variable SMTP_PASSWORD is not set"
    ]


def test_a_substituted_secret_never_reaches_an_error(here: Path) -> None:
    errs = errors_of(
        BASE + "email:\n  smtp:\n    port: ${SMTP_PORT}\n", environ={"SMTP_PORT": "hunter2"}
    )
    assert len(errs) == 1
    assert errs[0].startswith("config.yaml:10: email.smtp.port: must be a whole number")
    assert "hunter2" not in errs[0]
    assert "${SMTP_PORT}" in errs[0]


def test_yaml_syntax_error_has_a_line(here: Path) -> None:
    errs = errors_of(BASE + "coaching:\n  huddle: [mon, tue\n  buffer: 5m\n")
    assert len(errs) == 1
    assert errs[0].startswith("config.yaml:10: yaml: ")


def test_every_error_at_once_sorted_by_line(here: Path) -> None:
    text = """\
        manager:
          name: Dana
          email: not-an-email
          timezone: America/Chicago
        team:
          - name: Alex
            email: alex@example.com
            start_date: soon
          - email: sam@example.com
        coaching:
          one_on_one:
            every: 0m
            duration: abc
        triage:
          mode: sometimes
          rules:
            - name: r
              match:
                title_regex: "(["
              action: flag
        state:
          keep_weeks: three
        """
    errs = errors_of(text)
    lines = [int(e.split(":")[1]) for e in errs]
    assert lines == sorted(lines)
    paths = [e.split(": ")[1] for e in errs]
    assert paths == [
        "manager.email",
        "team[0].start_date",
        "team[1].name",
        "coaching.one_on_one.every",
        "coaching.one_on_one.duration",
        "triage.mode",
        "triage.rules[0].match.title_regex",
        "state.keep_weeks",
    ]
    assert errs[2] == "config.yaml:9: team[1].name: required key is missing"
    assert "config.yaml:22: state.keep_weeks: must be a whole number (got 'three')" in errs
    assert not any("Value error" in e for e in errs)


def test_unknown_key_with_no_close_match_lists_the_allowed_ones(here: Path) -> None:
    errs = errors_of(BASE + "daemon:\n  frobnicate: 1\n")
    assert errs == [
        "config.yaml:9: daemon.frobnicate: unknown key 'frobnicate' (allowed here: log_level, tick)"
    ]


def test_alias_bomb_is_refused(here: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    errs = errors_of("\n".join(lines) + "\n")
    assert len(errs) == 1
    assert "more than 100000 values" in errs[0]


def test_top_level_must_be_a_mapping(here: Path) -> None:
    assert errors_of("- a\n- b\n")[0].startswith("config.yaml:1: (top level): must be a mapping")
    assert "empty" in errors_of("# nothing\n")[0]


def test_missing_file_says_run_init(here: Path) -> None:
    with pytest.raises(UserError, match="coachd init"):
        load_policy(Path("nope/config.yaml"))


def test_the_file_name_is_as_the_user_gave_it(here: Path) -> None:
    (here / "demo").mkdir()
    (here / "demo" / "config.yaml").write_text(BASE + "bogus: 1\n")
    with pytest.raises(ConfigError) as exc:
        load_policy(Path("demo/config.yaml"), environ={})
    assert exc.value.errors[0].startswith("demo/config.yaml:8: bogus: unknown key 'bogus'")


def test_resolve_relative_home_and_absolute(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/dana")
    (here / "sub").mkdir()
    (here / "sub" / "config.yaml").write_text(BASE)
    loaded = load_policy(Path("sub/config.yaml"))
    assert loaded.base_dir == here / "sub"
    assert loaded.resolve("kpis.csv") == here / "sub" / "kpis.csv"
    assert loaded.resolve("~/cal") == Path("/home/dana/cal")
    assert loaded.resolve("/srv/x") == Path("/srv/x")


def test_repo_config_loads_cleanly() -> None:
    loaded = load_policy(REPO_CONFIG, environ={})
    p = loaded.policy
    assert p.triage.mode == "flag"
    assert len(p.team) == 5 and sum(r.start_date is not None for r in p.team) == 1
    assert any(r.minimums for r in p.team)
    assert len(p.coaching.sales_meeting.topics) >= 8
    assert any(not k.higher_is_better for k in p.kpis)
    assert p.manager.boss in p.triage.never_decline
    assert check_files(loaded) == []


def test_check_files_reports_a_missing_templates_dir(here: Path) -> None:
    loaded = load_policy(write(BASE + "email:\n  templates_dir: mytemplates\n"))
    assert check_files(loaded) == [
        f"config.yaml:9: email.templates_dir: folder {here / 'mytemplates'} does not exist"
    ]
    assert any("kpi_source.path: warning" in w for w in file_warnings(loaded))
    (here / "mytemplates").mkdir()
    assert check_files(loaded) == []


_YAMLISH = st.lists(
    st.sampled_from(
        [
            "manager:",
            "team:",
            "kpis:",
            "  - ",
            "  name: x",
            "  email: a@b.co",
            "timezone: UTC",
            "&a",
            "*a",
            "!!python/name:os.system",
            "${X}",
            "[",
            "]",
            "{",
            "}",
            ":",
            "- ",
            "? ",
            "  ",
            "\t",
            "'",
            '"',
            "#",
            "|",
            ">",
            "9:30",
            "NO",
            "1e3",
            "<<: *a",
            "---",
            "...",
            "%YAML 1.1",
            "\x00",
            "\ufeff",
            "é",
        ]
    )
    | st.text(max_size=8),
    max_size=25,
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parts=_YAMLISH, joiner=st.sampled_from(["\n", " ", "\n  ", ""]))
def test_fuzz_only_config_or_user_errors(here: Path, parts: list[str], joiner: str) -> None:
    Path("config.yaml").write_text(joiner.join(parts), encoding="utf-8", errors="surrogatepass")
    try:
        load_policy(Path("config.yaml"), environ={})
    except (ConfigError, UserError) as e:
        assert str(e)


def test_a_rep_minimum_must_name_a_kpi(here: Path) -> None:
    kpis = "kpis:\n  - id: outbound_calls\n    name: Calls\n    minimum: 50\n    goal: 75\n"
    errs = errors_of(BASE + "    minimums:\n      outbound_cals: 30\n" + kpis)
    assert errs == [
        "config.yaml:9: team[0].minimums.outbound_cals: no KPI with id 'outbound_cals' "
        "(did you mean 'outbound_calls'?)"
    ]


def test_anchors_and_merge_keys_work(here: Path) -> None:
    loaded = load_policy(
        write(
            BASE + "coaching:\n"
            "  one_on_one:\n"
            "    window: &core\n"
            '      start: "09:00"\n'
            '      end: "15:00"\n'
            "  call_review:\n"
            "    window:\n"
            "      <<: *core\n"
            '      start: "13:00"\n'
        )
    )
    assert loaded.policy.coaching.call_review.window.start == time(13, 0)
    assert loaded.policy.coaching.call_review.window.end == time(15, 0)


@pytest.mark.parametrize("which", ["config", "org"])
def test_a_file_that_cannot_be_read_says_why_and_what_to_do(tmp_path: Path, which: str) -> None:
    """config.yaml and org.yaml are read by one reader: a missing file names the command
    that writes one, a folder says to name the file, non-UTF-8 bytes give FILE:LINE."""
    from integrations.org.config import load_org

    load = load_policy if which == "config" else load_org
    hint = "coachd init" if which == "config" else "coachd init --demo --org"
    missing = tmp_path / f"{which}.yaml"
    with pytest.raises(UserError, match=f"{missing}: no such file.*{hint}"):
        load(missing)
    with pytest.raises(UserError, match=f"{tmp_path}: is a folder; "):
        load(tmp_path)
    missing.write_bytes(b"manager:\n  name: Ren\xe9\n")
    with pytest.raises(ConfigError) as e:
        load(missing)
    assert e.value.errors == [f"{missing}:2: yaml: not UTF-8 text (save the file as UTF-8)"]
