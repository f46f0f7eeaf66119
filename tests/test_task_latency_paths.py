"""What stands between a task's end and its score: only the task's own work.

A task is graded and recorded without waiting for its container to be removed or its model to
shut down (both still happen before the run returns), and a run with an Anthropic model loads
neither Ray, nor the openai SDK, nor scipy (for questions of 2 to 31 reference runs). Real Docker,
real SQLite, the real anthropic SDK against the local Messages server, the CLI as a user types it.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from support_run import RIGHT, containers_of, count_rows, make_suite

CAPSULE = "good-a"


def write_session(path: Path) -> Path:
    """A core-agent session: one bash call writes report.json, then the answers are submitted."""
    report = json.dumps(RIGHT).replace("'", "'\\''")
    path.write_text(json.dumps({"model": "scripted", "steps": [
        {"content": [{"type": "tool_use", "name": "bash",
                      "input": {"command": f"echo '{report}' > /workspace/report.json"}}]},
        {"content": [{"type": "tool_use", "name": "submit", "input": {"answers": RIGHT}}]},
    ]}))
    return path


def tasks_left(store: Path) -> int | None:
    """Tasks of the store not yet recorded; None before any task is planned."""
    if not store.exists():
        return None
    conn = sqlite3.connect(store)
    try:
        total, pending = conn.execute("SELECT COUNT(*), SUM(status != 'done') FROM tasks").fetchone()
    except sqlite3.OperationalError:  # no tables yet
        return None
    finally:
        conn.close()
    return None if not total else pending


@pytest.mark.docker
def test_a_task_is_recorded_before_its_container_and_model_go_and_both_still_go(tmp_path: Path, monkeypatch):
    from corebench_runner.sandbox.docker.sandbox import DockerSandbox
    from corebench_scripted.provider import ScriptedClient

    suite = make_suite(tmp_path / "suite", [CAPSULE])
    store = tmp_path / "results.sqlite"
    seen: list[tuple[str, bool]] = []  # (what closed, was the task already recorded)

    def after_recording(what: str, close):
        def wait_then_close(self) -> None:
            if tasks_left(store) is not None:  # a task's own (not the key check before planning)
                deadline = time.monotonic() + 60  # recording that waited for this close would never come
                while tasks_left(store) and time.monotonic() < deadline:
                    time.sleep(0.05)
                seen.append((what, tasks_left(store) == 0))
            close(self)
        return wait_then_close

    monkeypatch.setattr(DockerSandbox, "close", after_recording("container", DockerSandbox.close))
    monkeypatch.setattr(ScriptedClient, "close", after_recording("model", ScriptedClient.close))
    result = CliRunner().invoke(main, ["--suite", str(suite), "run", "--model",
                                       f"scripted:{write_session(tmp_path / 'session.json')}", "--scaffold",
                                       "core-agent", "--capsules", CAPSULE, "--level", "hard", "--quiet",
                                       "--store", str(store)])
    assert result.exit_code == 0, result.output

    assert ("container", True) in seen and ("model", True) in seen, seen
    assert all(recorded for _, recorded in seen), seen
    conn = sqlite3.connect(store)
    run_id, outcome = conn.execute("SELECT t.run_id, t.outcome FROM tasks t").fetchone()
    conn.close()
    assert outcome == "correct" and count_rows(store, run_id)["done"] == 1
    assert containers_of(run_id) == []  # removed before the run returned


@pytest.mark.docker
def test_a_run_with_an_anthropic_model_loads_no_ray_openai_or_scipy_and_leaves_the_collector_on(tmp_path: Path):
    # scipy: the capsule's numeric questions have 3 reference runs, whose t quantile the rule has in its table.
    suite = make_suite(tmp_path / "suite", [CAPSULE])
    session = write_session(tmp_path / "session.json")
    args = ["--suite", str(suite), "run", "--model", f"scripted:{session}", "--scaffold", "core-agent",
            "--capsules", CAPSULE, "--level", "hard", "--quiet", "--store", str(tmp_path / "results.sqlite")]
    # The SDK loads with the garbage collector paused (gc_paused.py); it must be back on for the run.
    probe = ("import gc, json, sys\nfrom corebench_runner.cli import main\n"
             f"try:\n    main({args!r}, standalone_mode=False)\n"
             "finally:\n    print(json.dumps([sorted(m for m in ('ray', 'openai', 'scipy') if m in sys.modules), "
             "gc.isenabled(), 'anthropic' in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [[], True, True]
    conn = sqlite3.connect(tmp_path / "results.sqlite")
    assert conn.execute("SELECT outcome FROM tasks").fetchall() == [("correct",)]  # it did run and grade
    conn.close()
