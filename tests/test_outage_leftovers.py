"""After an engine outage, a finished run leaves no container behind, labelled or not: the containers
the outage cut come back exited when the engine restarts, and the run (or, when the engine came back
only after the run ended, its resume) removes them. On an engine of the test's own that it kills and
restarts, three tasks cut at once."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from support_engine import own_engine  # noqa: F401  (a fixture)
from test_engine_outage import CORE, _run_row, _suite, _wait_for_containers, run_through_short_outage


@pytest.mark.docker
@pytest.mark.slow
def test_a_run_an_outage_failed_leaves_no_exited_containers_once_resumed(tmp_path: Path, own_engine):  # noqa: F811
    suite = _suite(tmp_path / "suite")
    store = tmp_path / "results.sqlite"
    env = {**os.environ, "DOCKER_HOST": own_engine.host, "COREBENCH_SUITE": str(suite), "PING_SLEEP": "30",
           "COREBENCH_ENGINE_WAIT": "1"}
    process = subprocess.Popen([str(CORE), "run", "--scaffold", "pinger", "--all", "--concurrency", "2",
                                "--infra-retries", "1", "--store", str(store), "--quiet"], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for_containers(own_engine, process, 2)
        own_engine.kill()
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
        own_engine.start()
    assert process.returncode == 0, stderr
    run_id, _ = _run_row(store)
    time.sleep(1)
    env["PING_SLEEP"] = "1"
    resumed = subprocess.run([str(CORE), "run", "--resume", run_id, "--retry", "infra_error", "--store", str(store)],
                             env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert _run_row(store) == (run_id, "finished")
    left = own_engine.docker("ps", "-a", "--filter", f"label=corebench.run={run_id}", "--format",
                             "{{.ID}} {{.Status}}").stdout.split("\n")
    assert [line for line in left if line] == []


@pytest.mark.docker
@pytest.mark.slow
def test_a_short_outage_leaves_no_exited_containers(tmp_path: Path, own_engine):  # noqa: F811
    store, returncode, stderr = run_through_short_outage(own_engine, tmp_path, concurrency=3)
    assert returncode == 0, stderr
    assert _run_row(store)[1] == "finished"
    left = own_engine.docker("ps", "-a", "--format", "{{.ID}} {{.Status}} {{.Labels}}").stdout.strip()
    assert left == ""
