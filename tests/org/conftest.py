"""A demo org (`coachd init --demo --org`) written once per session at the pinned instant;
each test gets its own copy."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
from pinning import PINNED

from daemon import main
from integrations import clock


@pytest.fixture(scope="session")
def org_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("org-template") / "org"
    assert main(["init", str(d), "--demo", "--org", "--at", PINNED.isoformat()]) == 0
    clock.reset()
    return d


@pytest.fixture
def demo_org(tmp_path: Path, pinned_now: datetime, org_template: Path) -> Path:
    d = tmp_path / "org"
    shutil.copytree(org_template, d)
    return d
