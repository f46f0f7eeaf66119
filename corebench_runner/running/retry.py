"""Trying again after an infrastructure failure within a task (task_runner.execute_task).

A failed attempt waits before the next one, longer each time, and while the Docker engine does
not answer, every task waits for it instead of failing at once: one thread asks the engine at a
time, the others wait for its answer, so an outage costs a pause, not the rest of the run (and
no storm of requests when it comes back). Whole tasks run again with `--retry` (rerun.py).
"""

from __future__ import annotations

import os
import random
import threading
import time

from corebench_runner.errors import UserError

# Seconds before the n-th retry of a task: 2, 4, 8, ... capped, with jitter so tasks spread out.
BACKOFF_FIRST, BACKOFF_CAP = 2.0, 30.0
# How long tasks wait for an engine that stopped answering before they give up (infra_error).
ENGINE_WAIT_ENV = "COREBENCH_ENGINE_WAIT"
ENGINE_WAIT_SECONDS = 300.0


def backoff_seconds(retry_no: int) -> float:
    base = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** max(0, retry_no - 1))
    return base * random.uniform(0.75, 1.25)


def engine_wait_seconds() -> float:
    try:
        return float(os.environ.get(ENGINE_WAIT_ENV, ENGINE_WAIT_SECONDS))
    except ValueError:
        raise UserError(f"${ENGINE_WAIT_ENV} must be a number of seconds, not {os.environ[ENGINE_WAIT_ENV]!r}") from None


class EngineGate:
    """Waits until the Docker engine answers; one ping at a time whatever the number of tasks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answered_at = 0.0

    def wait(self, stop: threading.Event | None = None, limit: float | None = None) -> bool:
        """True once the engine answers; False after `limit` seconds, or when `stop` is set."""
        limit = engine_wait_seconds() if limit is None else limit
        deadline = time.monotonic() + limit
        pause = 0.5
        while True:
            asked = time.monotonic()
            with self._lock:  # the others wait here for this thread's answer
                if self._answered_at >= asked - 1.0 or _engine_answers():
                    self._answered_at = max(self._answered_at, time.monotonic())
                    return True
            if (stop is not None and stop.is_set()) or time.monotonic() + pause > deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def _engine_answers() -> bool:
    from corebench_runner.sandbox.engine import docker_client

    try:
        docker_client().ping()
        return True
    except Exception:  # any failure to answer means: not yet
        return False


ENGINE = EngineGate()


def remove_attempt_containers(run_id: str, task_id: int) -> None:
    """Containers a failed attempt of this task left (its close() may have met an engine that was down)."""
    from corebench_runner.sandbox.engine import RUN_LABEL, TASK_LABEL, docker_client

    try:
        for container in docker_client().containers.list(
                all=True, ignore_removed=True, filters={"label": [f"{RUN_LABEL}={run_id}", f"{TASK_LABEL}={task_id}"]}):
            container.remove(force=True, v=True)
    except Exception:  # best effort: `corebench clean` and --resume remove what is left
        pass
