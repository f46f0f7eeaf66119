"""Per-capsule environment images, tagged by a content hash of everything that goes into the build.

The hash covers the Dockerfile, every file of its build context (the folder holding the
Dockerfile) and the id of each image it is built FROM, so an unchanged capsule is never rebuilt
and a change to any of those (a rebuilt base included) always is.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Callable

import docker.errors

from corebench_runner.capsules.format import Capsule
from corebench_runner.errors import UserError
from corebench_runner.images.base import BASE_IMAGES, ensure_base_images
from corebench_runner.images.build import run_build
from corebench_runner.images.engine import client as engine_client, images_on
from corebench_runner.settings import load_settings

ENV_REPOSITORY = "corebench/env-{capsule}"
HASH_CHARS = 16
_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE | re.MULTILINE)


def _repository(capsule_id: str) -> str:
    return ENV_REPOSITORY.format(capsule=re.sub(r"[^a-z0-9_.-]+", "-", capsule_id.lower()).strip("-.") or "capsule")


def parent_images(dockerfile_text: str) -> list[str]:
    """Images named in FROM lines, minus references to earlier build stages."""
    stages: set[str] = set()
    parents: list[str] = []
    for match in _FROM.finditer(dockerfile_text):
        image, alias = match.group(1), match.group(2)
        if image.lower() not in stages and image not in parents:
            parents.append(image)
        if alias:
            stages.add(alias.lower())
    return parents


def _parent_id(capsule: Capsule, image: str) -> str:
    """The local id of a FROM image, building our own base images when they are missing."""
    client = engine_client()
    try:
        return client.images.get(image).id
    except docker.errors.ImageNotFound:
        pass
    ours = [name for name, base in BASE_IMAGES.items() if base.tag == image]
    if ours:
        ensure_base_images(only=ours)
        return client.images.get(image).id
    raise UserError(f"{capsule.dockerfile}: FROM {image} is not on this machine and there is no registry; "
                    f"use one of {', '.join(b.tag for b in BASE_IMAGES.values())}")


def environment_tag(capsule: Capsule) -> str:
    """The tag the capsule's environment image has (or will have) for its current content."""
    dockerfile = capsule.dockerfile
    if not dockerfile.is_file():
        raise UserError(f"{dockerfile} does not exist; add a Dockerfile FROM one of the corebench base images")
    text = dockerfile.read_text(encoding="utf-8", errors="replace")
    parents = parent_images(text)
    if not parents:
        raise UserError(f"{dockerfile}: no FROM line; start it with e.g. `FROM {BASE_IMAGES['python'].tag}`")
    digest = hashlib.sha256()
    for image in parents:
        digest.update(f"FROM {image} {_parent_id(capsule, image)}\n".encode())
    context = dockerfile.parent
    for file in sorted(p for p in context.rglob("*") if p.is_file()):
        digest.update(file.relative_to(context).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return f"{_repository(capsule.id)}:{digest.hexdigest()[:HASH_CHARS]}"


def environment_image(capsule: Capsule, log_dir: Path | None = None, rebuild: bool = False,
                      progress: Callable[[str], None] | None = None, sandbox_kind: str | None = None) -> str:
    """Build (or reuse) the capsule's environment image and return its tag.

    A failed build raises UserError naming the build log; the Dockerfile is kept beside it.
    `progress` hears the log's path and the build's steps (nothing when the image is reused).
    sandbox_kind: on that kind's engine (else the one images_on set, docker by default).
    """
    if sandbox_kind is not None:
        with images_on(sandbox_kind):
            return environment_image(capsule, log_dir, rebuild, progress)
    tag = environment_tag(capsule)
    client = engine_client()
    if not rebuild:
        try:
            client.images.get(tag)
            return tag
        except docker.errors.ImageNotFound:
            pass
    content_hash = tag.rsplit(":", 1)[1]
    if log_dir is None:
        log_dir = Path(load_settings().build_dir) / "env" / capsule.id / content_hash
    labels = {"corebench.image": "environment", "corebench.capsule": capsule.id, "corebench.env_hash": content_hash}
    dockerfile = capsule.dockerfile
    run_build(dockerfile.parent, tag, Path(log_dir), labels=labels, dockerfile=dockerfile.name,
              what=f"the environment of capsule {capsule.id} ({dockerfile})", progress=progress)
    return tag
