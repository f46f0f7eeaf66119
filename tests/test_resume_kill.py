"""Kill a real `corebench run` process with SIGKILL mid-flight, resume it, and count rows.

No finished task may be lost, none may be recorded twice, and the resumed run must finish
exactly the tasks that had not finished.
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

from support_run import containers_of, count_rows, make_suite

CORE = Path(sys.executable).parent / "corebench"
CAPSULES = [f"slow-{i}" for i in range(6)]


def _done_tasks(store: Path) -> dict[int, str]:
    """task id -> finished timestamp of every recorded task (plain sqlite3; tolerant of a missing file)."""
    if not store.exists():
        return {}
    conn = sqlite3.connect(store, timeout=30)
    try:
        return dict(conn.execute("SELECT id, finished FROM tasks WHERE status = 'done'").fetchall())
    except sqlite3.OperationalError:  # tables not created yet
        return {}
    finally:
        conn.close()


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    # A shell's background jobs inherit SIGINT as ignored; give the run the default a terminal has.
    return subprocess.Popen([str(CORE), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _kill_when(process: subprocess.Popen, store: Path, at_least: int, deadline: float = 240) -> dict[int, str]:
    """SIGKILL the process once at least `at_least` tasks are recorded; returns what was recorded."""
    started = time.monotonic()
    while time.monotonic() - started < deadline:
        if process.poll() is not None:
            pytest.fail(f"the run ended before it could be killed: {process.stderr.read()}")
        if len(_done_tasks(store)) >= at_least:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            return _done_tasks(store)
        time.sleep(0.2)
    process.kill()
    pytest.fail("no task finished in time")


@pytest.mark.docker
@pytest.mark.slow
def test_sigkill_mid_run_then_resume_loses_and_duplicates_nothing(tmp_path: Path):
    suite = make_suite(tmp_path / "suite", CAPSULES)
    store = tmp_path / "results.sqlite"
    env = {**os.environ, "BEHAVE_SLEEP": "4", "COREBENCH_SUITE": str(suite)}
    common = ["--store", str(store), "--concurrency", "2", "--quiet"]

    first = _start(["run", "--scaffold", "behave", "--all", *common], env)
    before_kill = _kill_when(first, store, at_least=2)
    assert 2 <= len(before_kill) < len(CAPSULES)
    run_id = json.loads(subprocess.run([str(CORE), "runs", "--json", "--store", str(store)], env=env,
                                       capture_output=True, text=True, check=True).stdout)[0]["id"]
    rows = count_rows(store, run_id)
    # Every recorded task has all three answers; nothing half-written, nothing twice.
    assert rows == {"tasks": 6, "done": len(before_kill), "answers": 3 * len(before_kill), "duplicate_answers": 0}

    # Kill the resumed run too, after one more task, then resume again to the end.
    second = _start(["run", "--resume", run_id, *common], env)
    before_second_kill = _kill_when(second, store, at_least=len(before_kill) + 1)
    assert all(before_second_kill[task_id] == stamp for task_id, stamp in before_kill.items())

    third = subprocess.run([str(CORE), "run", "--resume", run_id, "--store", str(store)], env=env,
                           capture_output=True, text=True, timeout=300)
    assert third.returncode == 0, third.stderr
    assert "accuracy 100.0% (6/6 tasks correct)" in third.stdout

    final = _done_tasks(store)
    assert len(final) == 6
    # Tasks finished before a kill were not run again: their finish times are untouched.
    assert all(final[task_id] == stamp for task_id, stamp in before_second_kill.items())
    assert count_rows(store, run_id) == {"tasks": 6, "done": 6, "answers": 18, "duplicate_answers": 0}
    shown = json.loads(subprocess.run([str(CORE), "show", run_id, "--json", "--store", str(store)], env=env,
                                      capture_output=True, text=True, check=True).stdout)
    assert shown["run"]["status"] == "finished"
    assert sorted(t["capsule_id"] for t in shown["tasks"]) == CAPSULES
    # Tasks cut off by a kill were attempted again; the others exactly once.
    attempts = [t["attempts"] for t in shown["tasks"]]
    assert attempts.count(1) >= len(before_kill) and max(attempts) >= 2
    # The resume removed the containers the killed processes left behind.
    assert containers_of(run_id) == []


@pytest.mark.docker
def test_ctrl_c_stops_running_tasks_at_once_and_keeps_the_run_resumable(tmp_path: Path):
    suite = make_suite(tmp_path / "suite", ["slow-a", "slow-b"])
    store = tmp_path / "results.sqlite"
    env = {**os.environ, "BEHAVE_SLEEP": "300", "COREBENCH_SUITE": str(suite)}
    process = _start(["run", "--scaffold", "behave", "--all", "--store", str(store), "--concurrency", "2"], env)
    deadline = time.monotonic() + 120
    run_id = None
    while time.monotonic() < deadline and run_id is None:  # wait until both tasks have a container
        conn = sqlite3.connect(store, timeout=30) if store.exists() else None
        try:
            row = conn.execute("SELECT id FROM runs").fetchone() if conn else None
        except sqlite3.OperationalError:
            row = None
        finally:
            if conn:
                conn.close()
        if row and len(containers_of(row[0])) == 2:
            run_id = row[0]
        time.sleep(0.3)
    assert run_id, "the tasks never started"
    time.sleep(3)  # let the scaffolds reach their long command
    stopped_at = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert time.monotonic() - stopped_at < 30  # not the 300 s the tasks would have taken
    assert process.returncode == 130
    assert f"resume with `corebench run --resume {run_id}`" in stderr and "Traceback" not in stderr
    assert containers_of(run_id) == []
    assert count_rows(store, run_id) == {"tasks": 2, "done": 0, "answers": 0, "duplicate_answers": 0}
    conn = sqlite3.connect(store)
    assert conn.execute("SELECT status FROM runs").fetchone()[0] == "interrupted"
    conn.close()
