"""Two attempts at one task: the files kept are the recorded attempt's, and only its.

Real processes on one real SQLite store. Two drivers: the first is frozen (SIGSTOP, as a suspended
laptop or a paused VM is) while its task runs; its lease goes stale, a resume takes the run over
and records the task; then the first wakes, its attempt finishes, and it must not overwrite the
recorded attempt's transcript, report or produced files with its own. And a process killed after
saving a task's files but before its record committed: the attempt recorded later keeps none of
those files (regrade reads the kept report.json).
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
from click.testing import CliRunner

from corebench_runner.capsules.plugins import load_plugin
from corebench_runner.capsules.suite import Suite
from corebench_runner.cli import main
from corebench_runner.records import Limits, Outcome, Submission
from corebench_runner.running.recording import build_record, write_artifacts
from corebench_runner.running.task import Attempt, TaskJob
from corebench_runner.store.database import claim_task, create_run, finish_task, open_store
from support_run import RIGHT, count_rows, make_suite, show_json

CORE = Path(sys.executable).parent / "corebench"

# Tags everything it leaves with $DRIVER, after sleeping $TAG_SLEEP seconds.
SCAFFOLD = '''
import json
import os
import time

from corebench_runner.records import Submission, Usage

RIGHT = %(right)r


class Tagged:
    name = "tagged"
    version = "1"
    needs_model = False
    always_uses_capsule_environment = False

    def run(self, task, sandbox, model, limits):
        driver = os.environ["DRIVER"]
        time.sleep(float(os.environ.get("TAG_SLEEP", "0")))
        sandbox.write_file(task.workspace_dir + "/results/driver.txt", driver)
        sandbox.write_file(task.report_path, json.dumps({**RIGHT, "driver": driver}))
        return Submission(answers=RIGHT, transcript=[{"type": "note", "driver": driver}],
                          usage=Usage(input_tokens=10, output_tokens=1, calls=1), steps=1)


SCAFFOLD = Tagged()
'''


def _read(store: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(store, timeout=30)
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        conn.close()


def _wait_for(check, what: str, deadline: float = 60):
    started = time.monotonic()
    while time.monotonic() - started < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def test_a_driver_that_lost_the_task_leaves_the_recorded_attempts_files_alone_and_says_so(tmp_path: Path):
    suite = make_suite(tmp_path / "suite", ["slow-a"])
    (suite / "scaffolds" / "tagged.py").write_text(SCAFFOLD % {"right": RIGHT})
    store = tmp_path / "results.sqlite"
    env = {**os.environ, "PYTHONWARNINGS": "ignore::UserWarning", "COREBENCH_SUITE": str(suite)}
    first = subprocess.Popen([str(CORE), "run", "--scaffold", "tagged", "--capsules", "slow-a", "--sandbox", "local",
                              "--store", str(store), "--quiet"], env={**env, "DRIVER": "first", "TAG_SLEEP": "3"},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: _read(store, "SELECT 1 FROM tasks WHERE status = 'running'"), "the first driver's task")
        time.sleep(0.5)  # inside the scaffold's sleep, holding no transaction
        first.send_signal(signal.SIGSTOP)
        # Frozen: no heartbeat for longer than a lease lasts.
        with sqlite3.connect(store, timeout=30) as conn:
            conn.execute("UPDATE runs SET heartbeat = 0")
        (run_id,) = _read(store, "SELECT id FROM runs")[0]

        second = subprocess.run([str(CORE), "run", "--resume", run_id, "--store", str(store), "--quiet"],
                                env={**env, "DRIVER": "second"}, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr
        assert _read(store, "SELECT status, attempts FROM tasks") == [("done", 2)]
    finally:
        first.send_signal(signal.SIGCONT)
    _, said = first.communicate(timeout=60)  # its attempt finishes now, after the task was recorded
    # It says so and fails, rather than exit 0 as if its attempt had counted.
    assert first.returncode == 2 and f"run {run_id} was taken over by another process" in said
    assert "its attempt at task 1 (slow-a) was dropped" in said and "Traceback" not in said

    assert count_rows(store, run_id) == {"tasks": 1, "done": 1, "answers": 3, "duplicate_answers": 0}
    ((transcript_path, produced),) = _read(store, "SELECT transcript_path, artifacts_dir FROM tasks")
    artifacts = tmp_path / "results-artifacts"
    assert json.loads((artifacts / transcript_path).read_text())[0]["driver"] == "second"
    assert json.loads((artifacts / Path(transcript_path).parent / "report.json").read_text())["driver"] == "second"
    assert (artifacts / produced / "results" / "driver.txt").read_text() == "second"


# A driver that saves the task's files, then is killed before its record commits.
KILLED_WHILE_RECORDING = """
import io, json, os, signal, sys, tarfile
from corebench_runner.records import Limits, Submission
from corebench_runner.running.recording import write_artifacts
from corebench_runner.running.task import Attempt, TaskJob
from corebench_runner.store.database import TaskRecord, finish_task, open_store

store_path, suite, task_id, report = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
buffer = io.BytesIO()
with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
    data = b"made by the killed attempt"
    info = tarfile.TarInfo("results/made.txt")
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
job = TaskJob(run_id="run-1", task_id=task_id, capsule_id="good-a", repeat=0, suite_root=suite, level="hard",
              scaffold="behave", model="none", limits=Limits())
attempt = Attempt(job=job, submission=Submission(answers=None, transcript=[{"type": "note", "by": "killed"}]),
                  report_state="ok", report=json.loads(report), report_raw=report, results_tar=buffer.getvalue())
store = open_store(store_path)

def save_then_die(conn, task_id):
    write_artifacts(attempt, store.artifacts_dir)
    os.kill(os.getpid(), signal.SIGKILL)

finish_task(store, task_id, TaskRecord(outcome="correct"), also=save_then_die)
"""


def test_a_task_recorded_after_a_killed_recording_keeps_none_of_its_files(tmp_path: Path):
    suite = make_suite(tmp_path / "suite", ["good-a"])
    store = open_store(tmp_path / "results.sqlite")
    create_run(store, "run-1", model="none", scaffold="behave", scaffold_version="7", level="hard",
               grader="tolerant", engine_version="0", host="h", config={}, tasks=[("good-a", 0, "hash")])
    ((task_id,),) = store.query("SELECT id FROM tasks")
    assert claim_task(store, task_id)
    killed = subprocess.run([sys.executable, "-c", KILLED_WHILE_RECORDING, str(store.path), str(suite),
                             str(task_id), json.dumps(RIGHT)], capture_output=True, text=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert store.query("SELECT status FROM tasks")[0][0] == "running"  # its record never committed

    # The resumed attempt times out: no report, no produced files.
    assert claim_task(store, task_id)
    job = TaskJob(run_id="run-1", task_id=task_id, capsule_id="good-a", repeat=0, suite_root=str(suite),
                  level="hard", scaffold="behave", model="none", limits=Limits())
    attempt = Attempt(job=job, submission=Submission(answers=None, transcript=[{"type": "note", "by": "resumed"}],
                                                     outcome=Outcome.TIMEOUT, error="stopped after 600s"),
                      report_state="unread")
    record = build_record(attempt, Suite(suite).load("good-a"), load_plugin("graders", "tolerant"), "tolerant",
                          "none")
    assert finish_task(store, task_id, record, also=lambda conn, tid: write_artifacts(attempt, store.artifacts_dir))
    store.close()

    folder = tmp_path / "results-artifacts" / "run-1"
    assert [p.name for p in folder.iterdir()] == ["good-a-r0"]  # nothing else left beside it
    task_folder = folder / "good-a-r0"
    assert sorted(p.name for p in task_folder.iterdir()) == ["transcript.json"]
    assert json.loads((task_folder / "transcript.json").read_text())[0]["by"] == "resumed"
    # So a regrade grades what the recorded attempt reported: nothing.
    runner = CliRunner()
    regraded = runner.invoke(main, ["regrade", "run-1", "--grader", "tolerant", "--reviewer", "ops",
                                    "--store", str(tmp_path / "results.sqlite")])
    assert regraded.exit_code == 0, regraded.output
    (task,) = show_json(runner, tmp_path / "results.sqlite", "run-1")["tasks"]
    assert task["outcome"] == "timeout"
    assert {(q["status"], q["reason"]) for q in task["questions"]} == {("incorrect", "not reported")}
