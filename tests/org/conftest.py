"""A demo org (`coachd init --demo --org`) written once per session at the pinned instant;
each test gets its own copy."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from pinning import PINNED
from redis_server import RedisServer
from redis_server import available as redis_available

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


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of its own on a free loopback port, killed at the end."""
    if not redis_available():
        pytest.skip("redis-server is not installed (`make test-deps` installs it as root)")
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop(kill=True)
