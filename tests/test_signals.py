"""Signals to a real `corebench run`: SIGTERM is Ctrl-C, nothing starts after Ctrl-C, and the
scratch folders of killed runs are removed by resume and by `clean`."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from corebench_runner.capsules.suite import Suite
from corebench_runner.images.environment import environment_tag
from support_run import containers_of, make_suite

CORE = Path(sys.executable).parent / "corebench"
QUIET_ENV = {"PYTHONWARNINGS": "ignore::UserWarning"}


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    # A shell's background jobs inherit SIGINT as ignored; give the run the default a terminal has.
    return subprocess.Popen([str(CORE), *args], env={**os.environ, **QUIET_ENV, **env}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _query(store: Path, sql: str) -> list[tuple]:
    if not store.exists():
        return []
    conn = sqlite3.connect(store, timeout=30)
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def _wait_for(check, what: str, deadline: float = 120):
    started = time.monotonic()
    while time.monotonic() - started < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def _task_folders(pid: int) -> list[Path]:
    return sorted(Path(tempfile.gettempdir()).glob(f"corebench-task-{pid}-*"))


@pytest.mark.docker
def test_sigterm_is_ctrl_c_the_run_is_interrupted_and_its_containers_removed(tmp_path: Path):
    suite = make_suite(tmp_path / "suite", ["slow-a", "slow-b"])
    store = tmp_path / "results.sqlite"
    process = _start(["run", "--scaffold", "behave", "--all", "--store", str(store), "--concurrency", "2"],
                     {"BEHAVE_SLEEP": "300", "COREBENCH_SUITE": str(suite)})
    try:
        run_id = _wait_for(lambda: next((row[0] for row in _query(store, "SELECT id FROM runs")
                                         if len(containers_of(row[0])) == 2), None), "both task containers")
        time.sleep(3)  # the scaffolds reach their long command
        assert _task_folders(process.pid)
        stopped_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert time.monotonic() - stopped_at < 30  # not the 300 s the tasks would take
    assert process.returncode == 130
    assert f"resume with `corebench run --resume {run_id}`" in stderr and "Traceback" not in stderr
    assert containers_of(run_id) == []
    assert _query(store, "SELECT status, owner FROM runs") == [("interrupted", None)]
    assert _query(store, "SELECT COUNT(*) FROM tasks WHERE status = 'done'") == [(0,)]
    assert _task_folders(process.pid) == []


SLOW_BUILD = "FROM corebench/base:bookworm\nRUN sleep 25 && echo built > /built.txt\n"


@pytest.mark.docker
def test_nothing_starts_after_ctrl_c_during_an_image_build(tmp_path: Path):
    suite = make_suite(tmp_path / "suite", ["slow-a", "slow-b"])
    for capsule_id in ("slow-a", "slow-b"):
        # A context of its own (the image cache is keyed by content), so each capsule has an image to build.
        environment = suite / "capsules" / capsule_id / "environment"
        (environment / "Dockerfile").write_text(SLOW_BUILD)
        (environment / "which.txt").write_text(f"{capsule_id} {uuid.uuid4()}")
    tags = [environment_tag(Suite(suite).load(c)) for c in ("slow-a", "slow-b")]
    store = tmp_path / "results.sqlite"
    since = int(time.time()) - 1
    process = _start(["run", "--scaffold", "behave", "--all", "--level", "medium", "--store", str(store),
                      "--concurrency", "2"], {"BEHAVE_SLEEP": "1", "COREBENCH_SUITE": str(suite),
                                              "COREBENCH_BUILD_DIR": str(tmp_path / "builds")})
    try:
        run_id = _wait_for(lambda: next((row[0] for row in _query(store, "SELECT id FROM runs")), None), "the run")
        _wait_for(lambda: _query(store, "SELECT COUNT(*) FROM tasks WHERE status = 'running'") == [(2,)],
                  "both tasks to start building")
        time.sleep(4)  # well inside the 25 s builds
        stopped_at = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert time.monotonic() - stopped_at < 10, "the process waited for the image builds"
    assert process.returncode == 130, stderr
    assert f"--resume {run_id}" in stderr and "Traceback" not in stderr
    # Past the time the builds would have taken: no task container was ever created, no image finished.
    time.sleep(25)
    events = subprocess.run(["docker", "events", "--since", str(since), "--until", str(int(time.time())),
                             "--filter", "type=container", "--filter", "event=create",
                             "--filter", f"label=corebench.run={run_id}", "--format", "{{json .}}"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert events == []
    built = [tag for tag in tags if subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0]
    subprocess.run(["docker", "rmi", "-f", *built], capture_output=True)
    assert built == [], "built after Ctrl-C"
    assert _query(store, "SELECT status FROM runs") == [("interrupted",)]


@pytest.mark.docker
def test_scratch_folders_of_killed_runs_are_removed_by_resume_and_by_clean(tmp_path: Path):
    suite = make_suite(tmp_path / "suite", ["slow-a", "slow-b"])
    env = {"BEHAVE_SLEEP": "120", "COREBENCH_SUITE": str(suite)}

    def killed_run(store: Path, *args: str) -> tuple[str, int]:
        process = _start(["run", "--store", str(store), "--quiet", "--sandbox", "local", *args], env)
        _wait_for(lambda: len(_task_folders(process.pid)) == 2, "both tasks' scratch folders")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        return _query(store, "SELECT id FROM runs")[0][0], process.pid

    first_store = tmp_path / "first.sqlite"
    run_id, pid = killed_run(first_store, "--scaffold", "behave", "--all")
    assert len(_task_folders(pid)) == 2
    resumed = subprocess.run([str(CORE), "run", "--resume", run_id, "--store", str(first_store), "--quiet"],
                             env={**os.environ, **QUIET_ENV, **env, "BEHAVE_SLEEP": "0"}, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert _task_folders(pid) == []

    _, pid = killed_run(tmp_path / "second.sqlite", "--scaffold", "behave", "--all")
    listed = subprocess.run([str(CORE), "clean", "--dry-run"], capture_output=True, text=True, check=True).stdout
    assert all(f"would remove scratch folder {folder}" in listed for folder in _task_folders(pid))
    assert len(_task_folders(pid)) == 2
    subprocess.run([str(CORE), "clean"], capture_output=True, text=True, check=True)
    assert _task_folders(pid) == []
