"""A Docker engine outage in the middle of a run, on an engine of the test's own that it kills and
restarts: tasks wait for the engine and retry with backoff instead of failing the rest of the run,
and `corebench run --resume RUN --retry infra_error` reruns what an outage did fail."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support_engine import SMALL_IMAGE, own_engine  # noqa: F401  (a fixture)
from support_run import RIGHT, make_suite

CORE = Path(sys.executable).parent / "corebench"
CAPSULES = ["ping-a", "ping-b", "ping-c", "ping-d"]

PINGER_SCAFFOLD = '''
"""Runs a command of a few seconds in its container, then reports the right answers."""
import json
import os

from corebench_runner.records import Submission

RIGHT = %(right)s


class Pinger:
    name = "pinger"
    version = "1"
    needs_model = False

    def image_for(self, image):
        return %(image)r  # the small image the test's engine holds

    def run(self, task, sandbox, model, limits):
        result = sandbox.exec("sleep " + os.environ.get("PING_SLEEP", "1"), timeout=120)
        if result.exit_code != 0:
            raise RuntimeError("the command failed: " + result.stderr)
        sandbox.write_file(task.report_path, json.dumps(RIGHT))
        return Submission(answers=RIGHT, transcript=[{"type": "note"}], steps=1)


SCAFFOLD = Pinger()
'''


def _suite(root: Path) -> Path:
    suite = make_suite(root, CAPSULES)
    (suite / "scaffolds" / "pinger.py").write_text(PINGER_SCAFFOLD % {"right": repr(RIGHT), "image": SMALL_IMAGE})
    return suite


def _tasks(store: Path) -> dict[str, dict]:
    conn = sqlite3.connect(store, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return {row["capsule_id"]: {**dict(row), "details": json.loads(row["details_json"])}
                for row in conn.execute("SELECT * FROM tasks")}
    finally:
        conn.close()


def _run_row(store: Path) -> tuple[str, str]:
    conn = sqlite3.connect(store, timeout=30)
    try:
        return conn.execute("SELECT id, status FROM runs").fetchone()
    finally:
        conn.close()


def _wait_for_containers(engine, process: subprocess.Popen, count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if len(engine.containers("corebench.managed=1")) >= count:
            return
        if process.poll() is not None:
            pytest.fail(f"the run ended early: {process.communicate()}")
        time.sleep(0.2)
    pytest.fail("the tasks never started")


def run_through_short_outage(engine, tmp_path: Path, concurrency: int) -> tuple[Path, int, str]:
    """A run of `concurrency` slow tasks whose engine is killed once they all run, and restarted 5 s later.
    Returns the store, the run's exit code and its standard error."""
    suite = _suite(tmp_path / "suite")
    store = tmp_path / "results.sqlite"
    env = {**os.environ, "DOCKER_HOST": engine.host, "COREBENCH_SUITE": str(suite), "PING_SLEEP": "6"}
    process = subprocess.Popen([str(CORE), "run", "--scaffold", "pinger", "--all", "--concurrency", str(concurrency),
                                "--store", str(store), "--quiet"], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for_containers(engine, process, concurrency)
        time.sleep(1)
        engine.kill()
        time.sleep(5)
        engine.start()
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    return store, process.returncode, stderr


def run_failed_by_long_outage(engine, tmp_path: Path) -> tuple[Path, dict[str, str], str]:
    """A run of slow tasks whose engine is killed once two run and stays down until the run has ended: the
    run gives up on the engine after 1 s, so the outage fails its tasks. Returns the store, the run's
    environment (for a resume) and the run id; asserts the run itself ended with exit code 0."""
    suite = _suite(tmp_path / "suite")
    store = tmp_path / "results.sqlite"
    env = {**os.environ, "DOCKER_HOST": engine.host, "COREBENCH_SUITE": str(suite), "PING_SLEEP": "30",
           "COREBENCH_ENGINE_WAIT": "1"}
    process = subprocess.Popen([str(CORE), "run", "--scaffold", "pinger", "--all", "--concurrency", "2",
                                "--infra-retries", "1", "--store", str(store), "--quiet"], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for_containers(engine, process, 2)
        engine.kill()
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
        engine.start()
    assert process.returncode == 0, stderr
    return store, env, _run_row(store)[0]


@pytest.mark.docker
def test_a_short_engine_outage_costs_a_pause_not_the_run(tmp_path: Path, own_engine):
    store, returncode, stderr = run_through_short_outage(own_engine, tmp_path, concurrency=2)
    assert returncode == 0, stderr
    run_id, status = _run_row(store)
    tasks = _tasks(store)
    assert status == "finished"
    assert {c: t["outcome"] for c, t in tasks.items()} == {c: "correct" for c in CAPSULES}
    # The two tasks cut by the outage waited for the engine and then succeeded on their second try;
    # the two not started yet waited too: no attempt was spent against an engine that was down.
    tries = sorted(t["details"]["infra_attempts"] for t in tasks.values())
    assert tries == [1, 1, 2, 2], tries
    for task in tasks.values():
        assert len(task["details"].get("earlier_failures", [])) == task["details"]["infra_attempts"] - 1
    assert own_engine.containers(f"corebench.run={run_id}") == []


@pytest.mark.docker
def test_retry_reruns_the_tasks_a_long_outage_failed_and_keeps_their_earlier_attempts(tmp_path: Path,
                                                                                      own_engine):
    store, env, run_id = run_failed_by_long_outage(own_engine, tmp_path)
    failed = _tasks(store)
    assert _run_row(store) == (run_id, "finished")
    assert {t["outcome"] for t in failed.values()} == {"infra_error"}
    assert all("Docker engine did not answer" in t["error"] for t in failed.values())

    env["PING_SLEEP"] = "1"
    resumed = subprocess.run([str(CORE), "run", "--resume", run_id, "--retry", "infra_error", "--store", str(store)],
                             env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "4 task(s) of run" in resumed.stderr and "accuracy 100.0% (4/4 tasks correct)" in resumed.stdout
    tasks = _tasks(store)
    assert _run_row(store) == (run_id, "finished")
    for capsule_id, task in tasks.items():
        assert task["outcome"] == "correct" and task["attempts"] == 2
        (earlier,) = task["details"]["earlier_attempts"]
        assert earlier["outcome"] == "infra_error" and earlier["error"] == failed[capsule_id]["error"]
        assert earlier["details"]["failures"]  # what each failed try said is kept


def test_retry_needs_resume_and_known_outcomes(tmp_path: Path):
    store = str(tmp_path / "results.sqlite")
    alone = subprocess.run([str(CORE), "run", "--retry", "infra_error", "--store", store], capture_output=True,
                           text=True)
    assert alone.returncode == 2 and "--resume" in alone.stderr
    unknown = subprocess.run([str(CORE), "run", "--resume", "x", "--retry", "infra_eror", "--store", store],
                             capture_output=True, text=True)
    assert unknown.returncode == 2 and "unknown outcome 'infra_eror'" in unknown.stderr
