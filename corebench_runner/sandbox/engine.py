"""The one way to reach the Docker engine, with a clear message when it does not answer."""

from __future__ import annotations

import functools
import os

import docker
import docker.errors

from corebench_runner.errors import UserError

# Labels on everything we create, so that `corebench clean` finds leftovers.
MANAGED_LABEL = "corebench.managed"
RUN_LABEL = "corebench.run"
TASK_LABEL = "corebench.task"


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
