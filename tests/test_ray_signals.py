"""Under Ray, a run stops and recovers as on one machine: real `corebench run` processes with
`--executor ray` against a two-node Ray cluster started with `ray start` (tests/support_ray_cluster.py),
core-agent playing a scripted, priced session whose command sleeps, real Docker containers.

- SIGINT and SIGTERM in the middle of the tasks: exit within 10 s with the run `interrupted`, no
  container left, nothing but the runner's own line on the terminal, and the spend of the stopped
  attempts kept in the store.
- a cancel through the run's worker services alone (no driver-side cleanup): the tasks on both
  nodes see it, remove their own containers and come back as stopped within seconds, and every
  model call they made reached the driver while they still ran.
- the worker node's raylet killed with SIGKILL mid-task: its task is an infrastructure failure
  naming the node, run once more on the head, every call of both its attempts recorded once; with
  no retries left it ends `infra_error`, and `--resume RUN --retry infra_error` completes the run.

One cluster serves the whole module (starting it takes a minute or more on a busy machine).
"""

from __future__ import annotations

import json
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support_run import RIGHT, containers_of, make_suite

ray = pytest.importorskip("ray")
from support_ray_cluster import RayCluster, start_two_node_cluster  # noqa: E402

on_a_cluster = [pytest.mark.docker, pytest.mark.ray, pytest.mark.slow]

CORE = Path(sys.executable).parent / "corebench"
ROOT = Path(__file__).resolve().parent.parent
PRICED_MODEL = "claude-haiku-4-5"  # in data/prices.toml: every call costs something
CALL_USAGE = {"input_tokens": 2000, "output_tokens": 200}


def _session(path: Path, seconds: int) -> Path:
    """One command that sleeps, then the right answers: two priced calls per attempt."""
    path.write_text(json.dumps({"model": PRICED_MODEL, "steps": [
        {"content": [{"type": "tool_use", "name": "bash", "input": {"command": f"sleep {seconds}"}}],
         "usage": CALL_USAGE},
        {"content": [{"type": "tool_use", "name": "submit", "input": {"answers": RIGHT}}], "usage": CALL_USAGE},
    ]}))
    return path


@pytest.fixture(scope="module")
def cluster():
    # The nodes' workers import this tree and see no Ray token (the drivers below neither).
    started = start_two_node_cluster({"PYTHONPATH": str(ROOT)})
    try:
        yield started
    finally:
        started.stop()


def _env(tmp_path: Path, cluster: RayCluster) -> dict[str, str]:
    return {**cluster.env, "PYTHONWARNINGS": "ignore::UserWarning", "COREBENCH_RAY_LOG": str(tmp_path / "ray.log"),
            "COREBENCH_SUITE": str(tmp_path / "suite")}


def _start_run(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    # A shell's background jobs inherit SIGINT as ignored; give the run the default a terminal has.
    return subprocess.Popen([str(CORE), "run", *args], env=env, cwd=ROOT, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _query(store: Path, sql: str, args: tuple = ()) -> list[tuple]:
    if not store.exists():
        return []
    conn = sqlite3.connect(store, timeout=30)
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def _wait_for(check, what: str, deadline: float = 300):
    started = time.monotonic()
    while time.monotonic() - started < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def _run_with_both_tasks_sleeping(store: Path) -> str:
    """The run's id, once both its task containers are up and their agents have reached the sleep."""
    run_id = _wait_for(lambda: next((row[0] for row in _query(store, "SELECT id FROM runs")), None), "the run")
    _wait_for(lambda: len(containers_of(run_id)) == 2, "both task containers")
    time.sleep(6)  # the first model call is answered and the sleep starts
    return run_id


def _remove_containers(run_id: str) -> None:
    for container in containers_of(run_id):
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)


def _cluster_test(fn):
    for mark in on_a_cluster:
        fn = mark(fn)
    return fn


@_cluster_test
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_ends_a_ray_run_within_seconds_on_every_node(tmp_path: Path, cluster: RayCluster, signum: int):
    make_suite(tmp_path / "suite", ["slow-a", "slow-b"])
    store = tmp_path / "results.sqlite"
    session = _session(tmp_path / "sleeps.json", 50)
    process = _start_run(["--scaffold", "core-agent", "--model", f"scripted:{session}",
                          "--all", "--store", str(store), "--executor", "ray", "--ray-address", cluster.address,
                          "--concurrency", "2", "--quiet"], _env(tmp_path, cluster))
    run_id = None
    try:
        run_id = _run_with_both_tasks_sleeping(store)
        assert process.poll() is None, process.communicate()
        stopped_at = time.monotonic()
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
        took = time.monotonic() - stopped_at
        left = containers_of(run_id)
    finally:
        if process.poll() is None:
            process.kill()
        if run_id:
            _remove_containers(run_id)
    assert took < 10, f"took {took:.1f} s to stop"
    assert process.returncode == 130, stderr
    # Only the runner's line: no Ray log line, no native stack dump, no traceback.
    assert stderr.strip().splitlines() == [
        f"interrupted; what finished is kept (resume with `corebench run --resume {run_id}`)"], stderr
    assert left == []
    assert _query(store, "SELECT status, owner FROM runs") == [("interrupted", None)]
    assert _query(store, "SELECT COUNT(*) FROM tasks WHERE status = 'done'") == [(0,)]
    # What the stopped attempts spent came back from the nodes: each task has its priced calls recorded.
    spent = dict(_query(store, "SELECT t.capsule_id, SUM(u.cost_usd) FROM usage u JOIN tasks t ON t.id = u.task_id "
                               "GROUP BY t.capsule_id"))
    assert set(spent) == {"slow-a", "slow-b"} and all(cost > 0 for cost in spent.values()), spent
    assert "Started a local Ray instance" not in stderr and (tmp_path / "ray.log").exists()


@_cluster_test
def test_a_cancel_reaches_the_tasks_on_both_nodes_and_their_calls_reach_the_driver_as_made(
        tmp_path: Path, cluster: RayCluster, monkeypatch):
    """The run's services are the only carrier here: the driver cancels them and tells the executor, and
    removes no container itself."""
    from corebench_runner.executors import make_executor
    from corebench_runner.records import Limits, Outcome
    from corebench_runner.running.services import WorkerServices
    from corebench_runner.running.task import STOPPED, TaskJob, execute_task, stop_task_here

    suite = make_suite(tmp_path / "suite", ["slow-a", "slow-b"])
    session = _session(tmp_path / "sleeps.json", 300)
    for name, value in {**_env(tmp_path, cluster), "PYTHONPATH": str(ROOT)}.items():
        monkeypatch.setenv(name, value)  # this test's process is the Ray driver
    run_id = f"ray-cancel-{secrets.token_hex(3)}"
    heard: list[tuple[int, float]] = []  # (task id, cost) of each call, as the driver received it

    def record(task_id: int, model: str, usage) -> bool:
        heard.append((task_id, usage.cost_usd))
        return True

    services = WorkerServices(record_usage=record)
    jobs = [TaskJob(run_id=run_id, task_id=n, capsule_id=capsule, repeat=0, suite_root=str(suite), level="hard",
                    scaffold="core-agent", model=f"scripted:{session}", limits=Limits(wall_seconds=900))
            for n, capsule in enumerate(["slow-a", "slow-b"], start=1)]
    executor = make_executor("ray", execute_task, 2, cluster.address, on_stop=stop_task_here, services=services)
    returned: list = []

    def both_tasks_heard() -> bool:
        returned.extend(executor.drain(0.5))  # a driver waiting for results takes what the workers sent
        return {task_id for task_id, _ in heard} == {1, 2}

    try:
        for job in jobs:
            executor.submit(job)
        _wait_for(lambda: len(containers_of(run_id)) == 2, "both task containers")
        # While both tasks still run (none returned), each one's first call is at the driver.
        _wait_for(both_tasks_heard, "the first call of both tasks, at the driver")
        assert returned == []
        stopped_at = time.monotonic()
        services.cancel()
        executor.stop_workers()
        returned = executor.drain(60)
        took = time.monotonic() - stopped_at
        left = containers_of(run_id)
    finally:
        executor.close()
        _remove_containers(run_id)
    assert took < 15, f"took {took:.1f} s to stop"
    assert left == []  # removed on their own nodes: the driver removed nothing
    assert sorted(job.task_id for job, _ in returned) == [1, 2]
    nodes = set()
    for job, attempt in returned:
        assert attempt.submission.outcome == Outcome.INFRA_ERROR and attempt.submission.error == STOPPED, attempt
        nodes.add(attempt.details["worker"].split("node=")[1])
        # Every call the stopped task made had reached the driver before the result did.
        mine = [cost for task_id, cost in heard if task_id == job.task_id]
        assert attempt.usage_live and attempt.submission.usage.calls == len(mine) >= 1
        assert attempt.submission.usage.cost_usd == pytest.approx(sum(mine))
    assert nodes == set(cluster.node_ids().values())


def _task_rows(store: Path) -> dict[str, dict]:
    rows = _query(store, "SELECT capsule_id, outcome, error, attempts, cost_usd, details_json, id FROM tasks")
    return {r[0]: {"outcome": r[1], "error": r[2], "attempts": r[3], "cost": r[4], "details": json.loads(r[5] or "{}"),
                   "usage": _query(store, "SELECT COALESCE(SUM(cost_usd), 0), COUNT(*) FROM usage WHERE task_id = ?",
                                   (r[6],))[0],
                   "by_attempt": {a: (n, cost) for a, n, cost in _query(
                       store, "SELECT attempt, COUNT(*), SUM(cost_usd) FROM usage WHERE task_id = ? GROUP BY attempt",
                       (r[6],))}} for r in rows}


def _kill_worker_mid_run(tmp_path: Path, cluster: RayCluster, store: Path, retries: int) -> tuple[str, str, str]:
    """A run of two sleeping tasks, one per node; the worker node's raylet is SIGKILLed once both sleep.
    Returns (run id, the worker's node id, the run's stderr) once the run has ended on its own."""
    make_suite(tmp_path / "suite", ["slow-a", "slow-b"])
    session = _session(tmp_path / "sleeps.json", 20)
    worker_node = cluster.node_ids()["worker"]
    process = _start_run(["--scaffold", "core-agent", "--model", f"scripted:{session}",
                          "--all", "--store", str(store), "--executor", "ray", "--ray-address", cluster.address,
                          "--concurrency", "2", "--infra-retries", str(retries)], _env(tmp_path, cluster))
    run_id = None
    try:
        run_id = _run_with_both_tasks_sleeping(store)
        cluster.kill_raylet(cluster.worker)
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "Raylet is terminated" not in stderr and "Traceback" not in stderr
    return run_id, worker_node, stderr


@_cluster_test
def test_a_lost_node_is_an_infra_failure_run_again_elsewhere_and_a_resume_completes_the_run(
        tmp_path: Path, cluster: RayCluster):
    # 1. One retry allowed: the lost task runs once more, on the head, and its spend counts once.
    store = tmp_path / "retried.sqlite"
    (tmp_path / "retried").mkdir()
    run_id, worker_node, stderr = _kill_worker_mid_run(tmp_path / "retried", cluster, store, retries=1)
    try:
        tasks = _task_rows(store)
        lost = [t for t in tasks.values() if t["details"].get("earlier_failures")]
        assert len(lost) == 1, tasks
        task, other = lost[0], next(t for t in tasks.values() if t is not lost[0])
        assert f"Ray node {worker_node}" in task["details"]["earlier_failures"][0]
        assert f"Ray node {worker_node}" in stderr and "running it again" in stderr
        assert task["outcome"] == other["outcome"] == "correct"
        assert task["attempts"] == 2
        assert worker_node not in task["details"]["worker"]
        # Spend once: the retried attempt's two calls, as the other task's, and the lost attempt's first call,
        # which reached the driver (and the store) as it was made, before its node died.
        assert task["by_attempt"][2] == (2, pytest.approx(other["cost"])) and other["cost"] > 0
        assert task["by_attempt"][1] == (1, pytest.approx(other["cost"] / 2))
        assert task["cost"] == pytest.approx(1.5 * other["cost"])
        assert task["usage"] == (pytest.approx(task["cost"]), 3)
        assert _query(store, "SELECT status FROM runs") == [("finished",)]
        assert containers_of(run_id) == []
    finally:
        _remove_containers(run_id)

    # 2. The worker node comes back; no retry allowed: the lost task ends infra_error naming the node ...
    cluster.restart_worker()
    store = tmp_path / "resumed.sqlite"
    (tmp_path / "resumed").mkdir()
    run_id, worker_node, _ = _kill_worker_mid_run(tmp_path / "resumed", cluster, store, retries=0)
    try:
        tasks = _task_rows(store)
        failed = [t for t in tasks.values() if t["outcome"] == "infra_error"]
        assert len(failed) == 1, tasks
        assert f"Ray node {worker_node}" in failed[0]["error"]
        # ... and a resume runs it again (on the head, the one node left) and completes the run.
        resumed = subprocess.run([str(CORE), "run", "--resume", run_id, "--retry", "infra_error", "--store", str(store),
                                  "--executor", "ray", "--ray-address", cluster.address, "--quiet"],
                                 env=_env(tmp_path / "resumed", cluster), cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stderr
        assert resumed.stderr.strip() == ""
        tasks = _task_rows(store)
        assert {t["outcome"] for t in tasks.values()} == {"correct"}, tasks
        assert _query(store, "SELECT status FROM runs") == [("finished",)]
        assert containers_of(run_id) == []
    finally:
        _remove_containers(run_id)


def test_doctor_names_the_file_ray_logs_to(tmp_path: Path, monkeypatch):
    from click.testing import CliRunner

    from corebench_runner.cli import main

    log = tmp_path / "ray-lines.log"
    monkeypatch.setenv("COREBENCH_RAY_LOG", str(log))
    result = CliRunner().invoke(main, ["doctor"])
    line = next((line for line in result.output.splitlines() if line.startswith("ok    ray ")), None)
    assert line is not None, result.output
    assert str(log) in line and "/tmp/ray/session_latest/logs" in line
