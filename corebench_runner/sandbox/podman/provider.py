"""The podman kind: the docker kind's lifecycle on Podman's engine (engine.py says what differs)."""

from __future__ import annotations

from corebench_runner.sandbox.docker.provider import DockerProvider
from corebench_runner.sandbox.podman.engine import PODMAN

PROVIDER = DockerProvider(PODMAN)
