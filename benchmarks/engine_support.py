"""Shared set-up for the run-engine benchmarks: a suite of tiny capsules, a slow model, a timed run.

The model is the local Messages API server (the real anthropic SDK talks to it over HTTP)
answering after a fixed delay with a submit call, so a task's time is dominated by waiting on
the model, as in a real run, while its sandbox is a real Docker container.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import tomli_w

from corebench_runner.capsules.suite import Suite
from corebench_runner.running.run import ExecutionOptions, RunOptions, execute_run, plan_run, select_capsules
from corebench_runner.store.database import open_store
from corebench_scripted.messages_api import MessagesServer

KEY = "benchmark-local-key"
MODEL = "anthropic:claude-haiku-4-5"
QUESTION = "Report the number of rows in data/values.csv."


class DelayedServer(MessagesServer):
    """Answers every request after `delay` seconds; requests are served in parallel threads."""

    def __init__(self, delay: float) -> None:
        super().__init__(api_key=KEY)
        self.delay = delay
        self.reply = {"content": [{"type": "tool_use", "name": "submit", "input": {"answers": {QUESTION: 3}}}]}

    def answer(self, headers: dict[str, str], body: dict[str, Any]):
        time.sleep(self.delay)
        self.add(self.reply)  # one more step for whoever asks next
        return super().answer(headers, body)


def make_suite(root: Path, count: int) -> Suite:
    """`count` tiny capsules, each with one question whose answer is 3."""
    for i in range(count):
        folder = root / "capsules" / f"bench-{i}"
        for sub in ("code", "data", "results", "environment"):
            (folder / sub).mkdir(parents=True)
        (folder / "data" / "values.csv").write_text("x\n1\n2\n3\n")
        (folder / "code" / "count.py").write_text("print(len(open('data/values.csv').read().split()) - 1)\n")
        (folder / "environment" / "Dockerfile").write_text("FROM corebench/python:bookworm\n")
        (folder / "capsule.toml").write_text(tomli_w.dumps({
            "id": f"bench-{i}", "title": "benchmark capsule", "field": "Computer Science", "language": "Python",
            "task_prompt": "Count the rows of data/values.csv.", "resources": {"cpus": 0.25, "memory": "256m"},
            "questions": [{"text": QUESTION, "runs": [3, 3, 3]}]}))
    return Suite(root)


def timed_run(suite: Suite, server: MessagesServer, concurrency: int, executor: str = "local",
              ray_address: str | None = None, sandbox: str = "docker") -> tuple[float, Any]:
    """Plan and execute one run of every capsule; returns (wall seconds, RunSummary)."""
    os.environ["ANTHROPIC_API_KEY"] = KEY
    options = RunOptions(model=MODEL, scaffold="core-agent", level="hard",
                         capsule_ids=tuple(suite.capsule_ids()), model_base_url=server.url, infra_retries=0,
                         sandbox=sandbox)
    execution = ExecutionOptions(concurrency=concurrency, executor=executor, ray_address=ray_address, quiet=True)
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "bench.sqlite") as store:
        capsules, _ = select_capsules(suite, list(options.capsule_ids), options.level)
        run_id = plan_run(store, suite, options, capsules, execution)
        started = time.monotonic()
        summary = execute_run(store, run_id, options, suite, execution)
        seconds = time.monotonic() - started
    # Graded either way is fine here (a shortcut monitor may dispute an answer the model never derived).
    if set(summary.outcomes) - {"correct", "disputed"} or summary.tasks_done != summary.tasks_total:
        raise SystemExit(f"benchmark run went wrong: outcomes {summary.outcomes}")
    return seconds, summary
