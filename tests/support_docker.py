"""Helpers for tests that start real containers: sandbox factories and leftover checks, on either engine.

The container suites run on Docker and on Podman alike: ENGINE_KINDS parametrizes a test over both
(the podman cases marked `podman`), and every helper takes the kind. Podman's cases need only the
small corebench/base image (`corebench images build-base --sandbox podman --only base`), so the
commands the suites run are bash and coreutils, never python.
"""

from __future__ import annotations

import secrets

import docker
import pytest

from corebench_runner.images import BASE_IMAGES
from corebench_runner.sandbox.base import SandboxSpec

TEST_IMAGE = BASE_IMAGES["python"].tag
TEST_IMAGES = {"docker": TEST_IMAGE, "podman": BASE_IMAGES["base"].tag}
ENGINE_KINDS = [pytest.param("docker", marks=pytest.mark.docker), pytest.param("podman", marks=pytest.mark.podman)]


@pytest.fixture(params=ENGINE_KINDS)
def engine_kind(request) -> str:
    """Each engine in turn: "docker", then "podman"."""
    return request.param


def engine_of(kind: str):
    """The runner's own Engine object of a kind (its client, network, GPU request)."""
    if kind == "podman":
        from corebench_runner.sandbox.podman.engine import PODMAN

        return PODMAN
    from corebench_runner.sandbox.docker.engine import DOCKER

    return DOCKER


def engine(kind: str = "docker") -> docker.DockerClient:
    return docker.from_env() if kind == "docker" else engine_of(kind).client()


def require_image(tag: str | None = None, kind: str = "docker") -> None:
    tag = tag or TEST_IMAGES[kind]
    try:
        engine(kind).images.get(tag)
    except docker.errors.ImageNotFound:
        sandbox = "" if kind == "docker" else f" --sandbox {kind}"
        pytest.fail(f"{tag} is missing: build it with `corebench images build-base{sandbox}`")


def test_run_id() -> str:
    """A run label unique to one test, so leftover checks never see another test's containers."""
    return f"test-{secrets.token_hex(4)}"


test_run_id.__test__ = False  # a helper, not a test


def spec(run_id: str | None = None, kind: str = "docker", **changes) -> SandboxSpec:
    fields = dict(image=TEST_IMAGES[kind], labels={"corebench.run": run_id or test_run_id(), "corebench.task": "1"},
                  cpus=1.0, memory="512m", pids_limit=256)
    fields.update(changes)
    return SandboxSpec(**fields)


def containers_of(run_id: str, kind: str = "docker") -> list:
    return engine(kind).containers.list(all=True, filters={"label": f"corebench.run={run_id}"})
