"""Two processes and one run: the owner lease, and artifacts written only by the process that records.

Real `corebench run` processes on one real store: a second resume of a live run is refused in one
line; once the owner is killed, a resume takes the run over and finishes it exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corebench_runner.errors import UserError
from corebench_runner.records import Limits, Submission
from corebench_runner.running.recording import write_artifacts
from corebench_runner.running.task import Attempt, TaskJob
from corebench_runner.store import lease
from corebench_runner.store.database import TaskRecord, claim_task, create_run, finish_task, open_store
from support_run import RIGHT, count_rows, make_suite

CORE = Path(sys.executable).parent / "corebench"
QUIET_ENV = {"PYTHONWARNINGS": "ignore::UserWarning"}  # the local sandbox warns that it is no sandbox


def _read(store: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(store, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        conn.close()


def _wait_for(check, what: str, deadline: float = 90):
    started = time.monotonic()
    while time.monotonic() - started < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def test_a_second_resume_of_a_live_run_is_refused_and_a_dead_owners_run_is_taken_over(tmp_path: Path):
    suite = make_suite(tmp_path / "suite", ["slow-a", "slow-b", "slow-c"])
    store = tmp_path / "results.sqlite"
    env = {**os.environ, **QUIET_ENV, "COREBENCH_SUITE": str(suite), "BEHAVE_SLEEP": "60"}
    first = subprocess.Popen([str(CORE), "run", "--scaffold", "behave", "--all", "--sandbox", "local",
                              "--concurrency", "2", "--store", str(store), "--quiet"], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        run_id, owner = _wait_for(lambda: (_read(store, "SELECT id, owner FROM runs WHERE owner IS NOT NULL")
                                           or [None])[0], "the first run to take its lease")
        assert owner.endswith(f":{first.pid}")
        _wait_for(lambda: _read(store, "SELECT 1 FROM tasks WHERE status = 'running'"), "a task to start")

        second = subprocess.run([str(CORE), "run", "--resume", run_id, "--store", str(store), "--quiet"],
                                env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2 and "Traceback" not in second.stderr
        assert second.stderr.strip().splitlines() == [second.stderr.strip()]
        assert f"being run by {owner}" in second.stderr and run_id in second.stderr
        # The refused process claimed nothing: each running task was claimed once, by the first.
        assert _read(store, "SELECT MAX(attempts) FROM tasks")[0][0] == 1
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)

    # The owner is dead: a resume takes the run over at once (no waiting for the lease to go stale).
    env["BEHAVE_SLEEP"] = "0"
    third = subprocess.run([str(CORE), "run", "--resume", run_id, "--store", str(store), "--quiet"],
                           env=env, capture_output=True, text=True, timeout=300)
    assert third.returncode == 0, third.stderr
    assert count_rows(store, run_id) == {"tasks": 3, "done": 3, "answers": 9, "duplicate_answers": 0}
    ((status, owner_after),) = _read(store, "SELECT status, owner FROM runs")
    assert status == "finished" and owner_after is None  # released with the final status
    # Each recorded task has its transcript, written by the process that recorded it.
    for (path,) in _read(store, "SELECT transcript_path FROM tasks"):
        transcript = json.loads((tmp_path / "results-artifacts" / path).read_text())
        assert transcript[0]["kind"] == "slow"


def _store_with_run(path: Path) -> tuple[object, str, int]:
    store = open_store(path)
    create_run(store, "run-1", model="none", scaffold="behave", scaffold_version="1", level="hard",
               grader="tolerant", engine_version="0", host="h", config={}, tasks=[("good-a", 0, "hash")])
    (task_id,) = store.query("SELECT id FROM tasks")[0]
    return store, "run-1", task_id


def test_a_live_owner_elsewhere_holds_the_run_and_a_silent_one_is_taken_over(tmp_path: Path):
    store, run_id, _ = _store_with_run(tmp_path / "results.sqlite")
    with store:
        with store.transaction() as conn:
            conn.execute("UPDATE runs SET owner = 'another-host:4242', heartbeat = ?", (time.time() - 2,))
        with pytest.raises(UserError, match="being run by another-host:4242"):
            lease.acquire(store, run_id)
        with store.transaction() as conn:  # that host went quiet: no heartbeat for longer than the lease lasts
            conn.execute("UPDATE runs SET heartbeat = ?", (time.time() - lease.LEASE_STALE_SECONDS - 5,))
        taken = lease.acquire(store, run_id)
        assert store.query("SELECT owner, status FROM runs")[0][:] == (lease.this_process(), "running")
        taken.release("interrupted")
        assert store.query("SELECT owner, status FROM runs")[0][:] == (None, "interrupted")


def test_a_process_that_lost_the_run_writes_neither_the_task_nor_its_artifacts(tmp_path: Path):
    store, run_id, task_id = _store_with_run(tmp_path / "results.sqlite")
    with store:
        mine = lease.acquire(store, run_id)
        assert claim_task(store, task_id, owner=mine.owner)
        with store.transaction() as conn:  # another process took the run over meanwhile
            conn.execute("UPDATE runs SET owner = 'another-host:1', heartbeat = ?", (time.time(),))
        job = TaskJob(run_id=run_id, task_id=task_id, capsule_id="good-a", repeat=0, suite_root=str(tmp_path),
                      level="hard", scaffold="behave", model="none", limits=Limits())
        attempt = Attempt(job=job, submission=Submission(answers=RIGHT, transcript=[{"type": "note"}]),
                          report_state="ok", report=RIGHT, report_raw=json.dumps(RIGHT))
        recorded = finish_task(store, task_id, TaskRecord(outcome="correct"), owner=mine.owner,
                               also=lambda conn, tid: write_artifacts(attempt, store.artifacts_dir))
        assert not recorded
        assert store.query("SELECT status FROM tasks")[0][0] == "running"
        assert not store.artifacts_dir.exists()
        # Claims are refused too, and the heartbeat notices the loss.
        assert not claim_task(store, task_id, owner=mine.owner)
        lease.HEARTBEAT_SECONDS, saved = 0.1, lease.HEARTBEAT_SECONDS
        try:
            mine.start_heartbeat()
            assert mine.lost.wait(5)
        finally:
            lease.HEARTBEAT_SECONDS = saved
