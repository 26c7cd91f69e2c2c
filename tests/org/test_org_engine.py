"""Org mode on RQ and a real redis-server on loopback: the same org through `coachd org run`
and through RQ workers gives the same bookings, emails and calendar events; a manager's
lease keeps one tick at a time, survives neither a SIGKILL nor a Redis restart in a way that
loses or repeats anything; a broken manager file is reported once and the others run."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import time_machine
from engine_outcome import MANAGERS, outcome
from pinning import PINNED, PINNED_ISO, ROOT
from redis_server import RedisServer
from test_org_runner import DANA, OMAR, mails, run_once

from integrations.org.config import load_org
from integrations.org.engine.bucket import RedisTokenBucket
from integrations.org.engine.jobs import due_key, tick_job
from integrations.org.engine.lease import Lease, lease_key
from integrations.org.engine.scheduler import enqueue_due
from integrations.org.runner import OrgRunner

redis = pytest.importorskip("redis")
rq = pytest.importorskip("rq")

PINNED_PY = str(ROOT / "tests" / "pinned.py")


def _wait_for(cond: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory, org_template: Path) -> dict[str, Any]:
    """What `coachd org run` does with the demo org in one round (once per session)."""
    d = tmp_path_factory.mktemp("org-reference") / "org"
    shutil.copytree(org_template, d)
    with time_machine.travel(PINNED, tick=True):
        run_once(OrgRunner(d / "org.yaml"))
        result = outcome(d)
    for bookings, sent, _ in result.values():
        assert len(bookings) >= 20 and sent  # a real week's work to compare
    return result


def _conn(server: RedisServer) -> Any:
    return redis.Redis.from_url(server.url)


def _worker(server: RedisServer, org: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, PINNED_PY, PINNED_ISO, "org", "worker", "--redis", server.url, *extra],
        cwd=org,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 180) -> str:
    _, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return err


def test_org_run_and_two_rq_workers_give_the_same_bookings_and_emails(
    demo_org: Path, redis_server: RedisServer, reference: dict[str, Any]
) -> None:
    conn = _conn(redis_server)
    queue = rq.Queue("coachd", connection=conn)
    org = demo_org / "org.yaml"
    assert enqueue_due(conn, queue, org, load_org(org)) == sorted(MANAGERS)
    assert enqueue_due(conn, queue, org, load_org(org)) == []  # queued once only
    workers = [_worker(redis_server, demo_org, "--burst") for _ in range(2)]
    for w in workers:
        _finish(w)
    assert outcome(demo_org) == reference
    for m in MANAGERS:  # each worker recorded when the manager is due next
        assert conn.get(due_key(m)) is not None
    assert enqueue_due(conn, queue, org, load_org(org)) == []  # nobody is due yet


def test_a_leased_manager_is_skipped_and_ticks_once_the_lease_is_free(
    demo_org: Path, redis_server: RedisServer
) -> None:
    conn = _conn(redis_server)
    org = demo_org / "org.yaml"
    other = Lease(conn, DANA, 30_000)
    assert other.acquire()
    assert not Lease(conn, DANA, 30_000).acquire()
    # A second worker on the same manager: skips, touches nothing, is enqueued again later.
    assert tick_job(str(org), DANA, 30_000, connection=conn) == "busy"
    assert not (demo_org / "state" / DANA).exists()
    queue = rq.Queue("coachd", connection=conn)
    assert DANA not in enqueue_due(conn, queue, org, load_org(org))
    # Only the holder's token renews or releases the lease.
    intruder = Lease(conn, DANA, 30_000)
    assert not intruder.renew()
    intruder.release()
    assert conn.exists(lease_key(DANA))
    assert other.renew()
    other.release()
    assert not conn.exists(lease_key(DANA))
    assert tick_job(str(org), DANA, 30_000, connection=conn) == "ok"
    assert (demo_org / "state" / DANA / "coachd.json").exists()
    assert tick_job(str(org), DANA, 30_000, connection=conn) == "not-due"
    assert DANA not in enqueue_due(conn, queue, org, load_org(org))  # due after daemon.tick


def test_a_worker_killed_mid_tick_loses_its_lease_and_another_finishes_the_tick(
    demo_org: Path, redis_server: RedisServer, reference: dict[str, Any], tmp_path: Path
) -> None:
    conn = _conn(redis_server)
    queue = rq.Queue("coachd", connection=conn)
    org = demo_org / "org.yaml"
    marker = tmp_path / "stalled"
    assert enqueue_due(conn, queue, org, load_org(org), lease_ttl_ms=2000) == sorted(MANAGERS)
    stalling = subprocess.Popen(
        [
            sys.executable, str(ROOT / "tests" / "org" / "stalling_worker.py"), PINNED_ISO,
            str(marker), "org", "worker", "--redis", redis_server.url,
        ],
        cwd=demo_org,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert _wait_for(marker.exists, 180), "the worker never reached its first email"
    finally:
        stalling.send_signal(signal.SIGKILL)
        stalling.wait(timeout=30)
    first = sorted(MANAGERS)[0]  # the queue's first job: the manager it stalled on
    assert conn.exists(lease_key(first))  # still held by the dead worker ...
    assert mails(demo_org, first)  # ... after one real send
    assert _wait_for(lambda: not conn.exists(lease_key(first)), 10)  # ... until it expires
    # The scheduler's next pass enqueues the manager again; another worker takes over.
    assert enqueue_due(conn, queue, org, load_org(org), lease_ttl_ms=2000) == [first]
    _finish(_worker(redis_server, demo_org, "--burst"))
    assert outcome(demo_org) == reference  # nothing lost, nothing booked or sent twice


def test_workers_and_scheduler_ride_out_a_redis_restart(
    demo_org: Path, redis_server: RedisServer, reference: dict[str, Any]
) -> None:
    conn = _conn(redis_server)
    org = str(demo_org / "org.yaml")
    scheduler = subprocess.Popen(
        [sys.executable, PINNED_PY, PINNED_ISO, "org", "scheduler", "--org", org,
         "--redis", redis_server.url, "--lease-ttl", "5"],
        cwd=demo_org,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    workers = [_worker(redis_server, demo_org) for _ in range(2)]
    procs = [scheduler, *workers]
    try:
        assert _wait_for(lambda: all(conn.get(due_key(m)) for m in MANAGERS), 180)
        redis_server.stop(kill=True)
        time.sleep(1.5)
        redis_server.start()  # empty: every manager is due again, and ticks again
        conn = _conn(redis_server)
        assert _wait_for(lambda: all(conn.get(due_key(m)) for m in MANAGERS), 180), [
            p.poll() for p in procs
        ]
        assert [p.poll() for p in procs] == [None, None, None]  # nobody died of it
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
    errs = [_finish(p, 60) for p in procs]
    assert "Redis unreachable" in errs[0]
    assert outcome(demo_org) == reference  # ticking twice booked and sent nothing twice


def test_a_worker_outlives_redis_dying_under_a_job(
    demo_org: Path, redis_server: RedisServer
) -> None:
    """RQ's loop quits when Redis fails anywhere but in its wait for a job (here: recording
    a finished job); `coachd org worker` starts a new RQ worker and takes the next job."""
    queue = rq.Queue("coachd", connection=_conn(redis_server))
    first = queue.enqueue(time.sleep, 3)
    worker = _worker(redis_server, demo_org)
    try:
        assert _wait_for(lambda: first.get_status(refresh=True) == "started", 60)
        redis_server.stop(kill=True)  # the job ends while Redis is gone
        time.sleep(5)
        assert worker.poll() is None, worker.communicate()[1][-3000:]
        redis_server.start()
        second = rq.Queue("coachd", connection=_conn(redis_server)).enqueue(time.sleep, 0)
        assert _wait_for(lambda: second.get_status(refresh=True) == "finished", 90)
    finally:
        worker.send_signal(signal.SIGTERM)
    assert "the worker starts again" in _finish(worker, 60)


def test_a_manager_file_broken_while_running_is_reported_once_and_the_rest_run(
    demo_org: Path, redis_server: RedisServer
) -> None:
    conn = _conn(redis_server)
    org = str(demo_org / "org.yaml")
    assert [tick_job(org, m, 30_000, connection=conn) for m in MANAGERS] == ["ok"] * 3
    before = mails(demo_org, OMAR)
    path = demo_org / "managers" / f"{OMAR}.yaml"
    path.write_text(path.read_text().replace("working_hours:", "working_hours: [", 1))
    for _ in range(2):
        conn.delete(*(due_key(m) for m in MANAGERS))  # everyone due now
        assert [tick_job(org, m, 30_000, connection=conn) for m in MANAGERS] == [
            "ok",
            "ok",
            "rejected",
        ]
    errors = [s for _, s in mails(demo_org, OMAR) if (_, s) not in before]
    assert len(errors) == 1, errors  # one config-error email, not one per pass
    assert tick_job(org, OMAR, 30_000, connection=conn) == "not-due"  # retried at rescan


def test_the_redis_token_bucket_is_shared_by_every_worker(redis_server: RedisServer) -> None:
    a = RedisTokenBucket(_conn(redis_server), rate=0.001, burst=3)
    b = RedisTokenBucket(_conn(redis_server), rate=0.001, burst=3)
    assert [a.try_take(), a.try_take(), a.try_take()] == [0.0, 0.0, 0.0]
    assert b.try_take() > 900  # a's burst is spent for b too: a token every 1000 s
    c = RedisTokenBucket(_conn(redis_server), rate=0.001, burst=3, key="coachd:org:other")
    assert c.try_take() == 0.0
