"""Helpers for tests that start real containers: sandbox factories and leftover checks."""

from __future__ import annotations

import secrets

import docker
import pytest

from corebench_runner.images import BASE_IMAGES
from corebench_runner.sandbox.base import SandboxSpec

TEST_IMAGE = BASE_IMAGES["python"].tag


def engine() -> docker.DockerClient:
    return docker.from_env()


def require_image(tag: str = TEST_IMAGE) -> None:
    try:
        engine().images.get(tag)
    except docker.errors.ImageNotFound:
        pytest.fail(f"{tag} is missing: build it with `corebench images build-base`")


def test_run_id() -> str:
    """A run label unique to one test, so leftover checks never see another test's containers."""
    return f"test-{secrets.token_hex(4)}"


test_run_id.__test__ = False  # a helper, not a test


def spec(run_id: str | None = None, **changes) -> SandboxSpec:
    fields = dict(image=TEST_IMAGE, labels={"corebench.run": run_id or test_run_id(), "corebench.task": "1"},
                  cpus=1.0, memory="512m", pids_limit=256)
    fields.update(changes)
    return SandboxSpec(**fields)


def containers_of(run_id: str) -> list:
    return engine().containers.list(all=True, filters={"label": f"corebench.run={run_id}"})
