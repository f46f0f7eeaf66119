"""After an engine outage, a finished run leaves no container behind, labelled or not: the containers
the outage cut come back exited when the engine restarts, and the run (or, when the engine came back
only after the run ended, its resume) removes them. On an engine of the test's own that it kills and
restarts, three tasks cut at once."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from support_engine import own_engine  # noqa: F401  (a fixture)
from test_engine_outage import CORE, _run_row, run_failed_by_long_outage, run_through_short_outage


@pytest.mark.docker
@pytest.mark.slow
def test_a_run_an_outage_failed_leaves_no_exited_containers_once_resumed(tmp_path: Path, own_engine):  # noqa: F811
    store, env, run_id = run_failed_by_long_outage(own_engine, tmp_path)
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
