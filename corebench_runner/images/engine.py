"""Which engine images are built on and looked up in: the sandbox kind's, asked through its provider.

Every image function here talks to `client()`: the Docker-API client of the kind set by
`images_on(kind)` for the calls inside its block (a run's `--sandbox`, `images build-base --sandbox
podman`), the docker kind's otherwise. A context variable, like build.builds_heard_by, because a
scaffold's `image_for(task_image)` builds its agent layer with no engine to pass down; it is set in
the worker's own thread, so it holds under every executor.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import docker

from corebench_runner.sandbox.providers import provider_for

DEFAULT_KIND = "docker"
_kind: ContextVar[str] = ContextVar("image_engine", default=DEFAULT_KIND)


@contextmanager
def images_on(kind: str) -> Iterator[None]:
    """Every image built or looked up in the block is this sandbox kind's engine's."""
    token = _kind.set(kind)
    try:
        yield
    finally:
        _kind.reset(token)


def image_kind() -> str:
    return _kind.get()


def client() -> docker.DockerClient:
    """The Docker-API client of the engine holding the current kind's images (one clear line when it does not answer)."""
    return provider_for(_kind.get()).image_client()


def import_rootfs(tarball: str, tag: str, changes: list[str]) -> None:
    """Make image `tag` from a root filesystem tarball, the way the current kind's engine does it."""
    provider_for(_kind.get()).import_rootfs(tarball, tag, changes)


def short_tag(tag: str) -> str:
    """A tag as the runner names it: Podman names `corebench/base:bookworm` docker.io/... or localhost/..."""
    for prefix in ("docker.io/", "localhost/"):
        if tag.startswith(prefix):
            return tag[len(prefix):]
    return tag
