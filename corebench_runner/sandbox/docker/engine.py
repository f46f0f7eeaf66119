"""The one way to reach the Docker engine, with a clear message when it does not answer.

While the engine does not answer, every task waits for it (EngineGate) instead of failing at once:
one thread asks the engine at a time, the others wait for its answer, so an outage costs a pause,
not the rest of the run (and no storm of requests when it comes back).
"""

from __future__ import annotations

import functools
import os
import threading
import time

import docker
import docker.errors

from corebench_runner.errors import UserError

# How long tasks wait for an engine that stopped answering before they give up (infra_error).
ENGINE_WAIT_ENV = "COREBENCH_ENGINE_WAIT"
ENGINE_WAIT_SECONDS = 300.0


@functools.lru_cache(maxsize=1)
def docker_client() -> docker.DockerClient:
    """A client for the local engine; UserError (not a traceback) when it is not running."""
    try:
        client = docker.from_env(timeout=300)
        client.ping()
    except docker.errors.DockerException as exc:
        raise UserError(f"{engine_not_answering()} ({exc.__class__.__name__}); {engine_fix()}") from None
    return client


def engine_not_answering() -> str:
    host = os.environ.get("DOCKER_HOST")
    return f"the Docker engine at DOCKER_HOST={host} is not answering" if host else \
        "the local Docker engine is not answering"


def engine_fix() -> str:
    """What to do about an engine that does not answer: DOCKER_HOST, when set, is the first suspect."""
    if os.environ.get("DOCKER_HOST"):
        return "point DOCKER_HOST at a running engine, or unset it to use the local one"
    return "start it with `bash scripts/start_docker.sh` (scripts/setup.sh installs docker.io when it is missing)"


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
    try:
        docker_client().ping()
        return True
    except Exception:  # any failure to answer means: not yet
        return False


ENGINE = EngineGate()
