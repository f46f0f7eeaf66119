"""The agent-CLI image layer: the task's image plus Node.js and Claude Code.

Tagged by a content hash of what goes in (the task image's id, the Dockerfile, the run
script, the pinned Claude Code version and the CA bundle), so it is built once per task
image and rebuilt whenever any of those change. The Dockerfile and the script that runs
inside the container ship as files in corebench_runner/data/.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from importlib import resources
from pathlib import Path

import docker.errors

from corebench_runner.errors import UserError
from corebench_runner.images.build import run_build
from corebench_runner.sandbox.engine import docker_client
from corebench_runner.settings import Settings, load_settings

# Pinned: the last release whose npm package is plain JavaScript for Node >= 18 (Debian
# bookworm ships Node 18); later releases ship a native binary and need Node >= 22.
CLAUDE_CODE_VERSION = "2.1.100"
DOCKERFILE = "claude-code.Dockerfile"
RUN_SCRIPT = "run-claude-code.sh"
RUN_SCRIPT_IN_IMAGE = "/usr/local/bin/corebench-run-claude-code"
REPOSITORY = "corebench/agent-claude-code"
HASH_CHARS = 16


def _data(name: str) -> bytes:
    return (resources.files("corebench_runner") / "data" / name).read_bytes()


def _task_image_id(task_image: str) -> str:
    try:
        return docker_client().images.get(task_image).id
    except docker.errors.ImageNotFound:
        raise UserError(f"image {task_image} is not on this machine; build it first "
                        "(`corebench images build-base`, or run the capsule once to build its environment)") from None


def claude_code_tag(task_image: str, settings: Settings | None = None, version: str = CLAUDE_CODE_VERSION) -> str:
    settings = settings or load_settings()
    digest = hashlib.sha256()
    for part in (_task_image_id(task_image).encode(), _data(DOCKERFILE), _data(RUN_SCRIPT), version.encode(),
                 settings.ca_bundle_bytes() or b""):
        digest.update(hashlib.sha256(part).digest())
    return f"{REPOSITORY}:{digest.hexdigest()[:HASH_CHARS]}"


def claude_code_image(task_image: str, settings: Settings | None = None, version: str = CLAUDE_CODE_VERSION) -> str:
    """Build (or reuse) the Claude Code layer on top of `task_image`; returns its tag.

    A failed build raises UserError naming its build log.
    """
    if not re.fullmatch(r"[0-9][0-9A-Za-z.+-]*", version):
        raise UserError(f"Claude Code version {version!r} is not a version number; use e.g. {CLAUDE_CODE_VERSION}")
    settings = settings or load_settings()
    tag = claude_code_tag(task_image, settings, version)
    try:
        docker_client().images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    log_dir = Path(settings.build_dir) / "agent" / "claude-code" / tag.rsplit(":", 1)[1]
    with tempfile.TemporaryDirectory(prefix="corebench-claude-code-") as tmp:
        context = Path(tmp)
        (context / "Dockerfile").write_bytes(_data(DOCKERFILE))
        (context / RUN_SCRIPT).write_bytes(_data(RUN_SCRIPT))
        (context / "extra-ca.crt").write_bytes(settings.ca_bundle_bytes() or b"")
        labels = {"corebench.image": "agent", "corebench.agent": f"claude-code@{version}",
                  "corebench.task_image": task_image}
        run_build(context, tag, log_dir, labels=labels, what=f"the Claude Code layer on {task_image}",
                  buildargs={"TASK_IMAGE": task_image, "CLAUDE_CODE_VERSION": version})
    return tag
