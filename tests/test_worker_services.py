"""A worker's services come from its run, never from its process (running/services.py).

Real workers (running/task.py) on the local sandbox: the behave test scaffold, and core-agent over
the real Anthropic SDK against a scripted local Messages server. The Ray side of the same services
runs on a real two-node cluster in tests/test_ray_signals.py.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

from corebench_runner.records import Limits, Outcome, Usage
from corebench_runner.running.folders import TASK_FOLDER_PREFIX
from corebench_runner.running.services import BuildNote, UsageCall, WorkerServices
from corebench_runner.running.task import STOPPED, TaskJob, execute_task
from support_run import RIGHT, make_suite

PRICED_MODEL = "claude-haiku-4-5"  # in data/prices.toml
CALL_USAGE = {"input_tokens": 1500, "output_tokens": 120}

pytestmark = pytest.mark.filterwarnings("ignore:the local sandbox is not a sandbox")


def _job(suite: Path, run_id: str, scaffold: str = "behave", model: str = "none") -> TaskJob:
    return TaskJob(run_id=run_id, task_id=1, capsule_id="good-a", repeat=0, suite_root=str(suite), level="hard",
                   scaffold=scaffold, model=model, limits=Limits(wall_seconds=120), sandbox_kind="local")


def test_a_stopped_runs_worker_starts_nothing_while_another_run_in_the_process_goes_on(tmp_path: Path):
    suite = make_suite(tmp_path / "suite", ["good-a"])
    before = set(_scratch_folders())  # other tests' (of this process) may still be going
    stopped = WorkerServices()
    stopped.cancel()
    attempt = execute_task(_job(suite, "stopped-run"), stopped)
    assert attempt.submission.outcome == Outcome.INFRA_ERROR and attempt.submission.error == STOPPED
    assert "scaffold_version" not in attempt.details  # it never loaded its scaffold

    services = WorkerServices()
    going = execute_task(_job(suite, "other-run"), services)
    assert going.report_state == "ok" and going.report == RIGHT, going.details
    assert going.results_tar
    # Its cleanup was handed to its run's registry: waited for there, its scratch folder is gone.
    services.cleanups.wait(timeout=60)
    assert set(_scratch_folders()) - before == set()


def _scratch_folders() -> list[Path]:
    """Task scratch folders of this process (running/folders.py names them by pid)."""
    return list(Path(tempfile.gettempdir()).glob(f"{TASK_FOLDER_PREFIX}{os.getpid()}-*"))


class _Link:
    """The link a cluster executor gives a worker in another process: an Event and a way back."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self.sent: list[Any] = []

    def send(self, message: Any) -> None:
        self.sent.append(message)


def test_a_worker_elsewhere_sends_each_call_back_and_only_the_driver_writes_it(tmp_path: Path):
    suite = make_suite(tmp_path / "suite", ["good-a"])
    script = tmp_path / "session.json"
    script.write_text(json.dumps({"model": PRICED_MODEL, "steps": [
        {"content": [{"type": "tool_use", "name": "submit", "input": {"answers": RIGHT}}], "usage": CALL_USAGE}]}))
    model = f"scripted:{script}"
    written: list[tuple[int, str, Usage]] = []

    def journal(task_id: int, model: str, usage: Usage) -> bool:
        written.append((task_id, model, usage))
        return True

    driver = WorkerServices(record_usage=journal, note_build=lambda text: None)
    link = _Link()
    attempt = execute_task(_job(suite, "elsewhere-run", scaffold="core-agent", model=model),
                           driver.elsewhere().attach(link))
    assert attempt.report == RIGHT
    calls = [message for message in link.sent if isinstance(message, UsageCall)]
    assert [(call.task_id, call.model) for call in calls] == [(1, model)]
    assert calls[0].usage.cost_usd == pytest.approx(attempt.submission.usage.cost_usd) and calls[0].usage.cost_usd > 0
    assert attempt.usage_live  # every call went back: the driver's rows stand for the attempt
    assert written == []  # the worker wrote nothing itself

    for message in link.sent:
        driver.deliver(message)
    assert written == [(1, model, calls[0].usage)] and driver.usage_missed(1) == []

    # A call the driver's store refused: the attempt's own usage is recorded instead, once asked.
    refusing = WorkerServices(record_usage=lambda task_id, model, usage: False)
    refusing.deliver(calls[0])
    assert refusing.usage_missed(1) == [calls[0]] and refusing.usage_missed(1) == []


def test_build_lines_from_elsewhere_stop_once_the_run_is_stopped():
    heard: list[str] = []
    driver = WorkerServices(note_build=heard.append)
    driver.deliver(BuildNote("building the environment of capsule iris-lda"))
    driver.cancel()
    driver.deliver(BuildNote("  iris-lda: Step 2/5 : RUN make"))  # the bar is closed and the process is ending
    assert heard == ["building the environment of capsule iris-lda"]
