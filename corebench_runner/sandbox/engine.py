"""The one way to reach the Docker engine, with a clear message when it does not answer."""

from __future__ import annotations

import functools

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
        raise UserError(f"the Docker engine is not answering ({exc.__class__.__name__}); "
                        "start it with `bash scripts/start_docker.sh` and check with `corebench doctor`") from None
    return client
