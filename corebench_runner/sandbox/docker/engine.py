"""The one way to reach a Docker-API engine, with a clear message when it does not answer.

An Engine is one such engine: the Docker engine (DOCKER), or Podman's service, which speaks the same
API (sandbox/podman/). Everything in sandbox/docker/ talks to the engine it is given, so the podman
kind reuses the containers, files, firewall and cleanup code with a connection of its own.

While an engine does not answer, every task waits for it (EngineGate) instead of failing at once:
one thread asks the engine at a time, the others wait for its answer, so an outage costs a pause,
not the rest of the run (and no storm of requests when it comes back).
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
import time
from collections.abc import Callable

import docker
import docker.errors

from corebench_runner.errors import UserError
from corebench_runner.sandbox.gpu import gpu_request

# How long tasks wait for an engine that stopped answering before they give up (infra_error).
ENGINE_WAIT_ENV = "COREBENCH_ENGINE_WAIT"
ENGINE_WAIT_SECONDS = 300.0


@functools.lru_cache(maxsize=1)
def docker_client() -> docker.DockerClient:
    """A client for the local Docker engine; UserError (not a traceback) when it is not running."""
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
    """Waits until an engine answers; one ping at a time whatever the number of tasks."""

    def __init__(self, answers: Callable[[], bool] | None = None) -> None:
        self._answers = answers or _engine_answers
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
                if self._answered_at >= asked - 1.0 or self._answers():
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


class Engine:
    """One Docker-API engine: its client, its name in messages, its task network and its GPU request.

    The base class is the Docker engine; PodmanEngine (sandbox/podman/engine.py) overrides what differs."""

    kind = "docker"
    name = "the Docker engine"

    def __init__(self) -> None:
        self.gate = EngineGate(self.answers)
        self._network = None
        self._network_lock = threading.Lock()

    def client(self) -> docker.DockerClient:
        """A client that answered once; UserError, in one line saying what to do, when the engine does not."""
        return docker_client()

    def installed(self) -> bool:
        """Whether this engine could be on this host at all (a kind whose engine is not is skipped by clean)."""
        return True

    def answers(self) -> bool:
        """Whether the engine answers a ping now."""
        return _engine_answers()

    def not_answering(self) -> str:
        return engine_not_answering()

    def fix(self) -> str:
        return engine_fix()

    @property
    def network(self):
        """This engine's task network and its firewall (firewall.TaskNetwork), made on first use."""
        with self._network_lock:
            if self._network is None:
                self._network = self.task_network_class()(self)
            return self._network

    def task_network_class(self) -> type:
        from corebench_runner.sandbox.docker.firewall import TaskNetwork

        return TaskNetwork

    def terminal_program(self) -> list[str]:
        """This engine's command line, for a person's interactive shell in a container (`exec -it`)."""
        return ["docker"]  # it reads DOCKER_HOST itself, as the SDK does

    def create_container(self, config: dict):
        """Create (not start) a container from container_setup.container_config's keyword arguments."""
        return self.client().containers.create(**config)

    def gpu_config(self) -> dict:
        """What containers.create() is given to hand every GPU in (gpu.py: one policy for every engine)."""
        return gpu_request(self.kind)

    def gpu_ready(self) -> bool:
        """Whether this engine can hand a GPU in, once the host has one: Docker's nvidia runtime."""
        try:
            runtimes = self.client().info().get("Runtimes", {})
        except UserError:
            return False
        return "nvidia" in runtimes or shutil.which("nvidia-container-cli") is not None

    def import_rootfs(self, tarball: str, tag: str, changes: list[str]) -> None:
        """Make image `tag` from a root filesystem tarball (`docker import`), with Dockerfile-style changes."""
        repository, version = tag.rsplit(":", 1)
        self.client().api.import_image_from_file(tarball, repository=repository, tag=version, changes=changes)


DOCKER = Engine()
ENGINE = DOCKER.gate  # the Docker engine's gate (kept: the outage tests wait on it)
