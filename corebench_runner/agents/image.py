"""Agent layers: a task's image plus one agent's native binary and the script that runs it.

The binary comes from the host's npm cache (agents/cli_agents/npm_fetch.py), so the build copies files
and needs no network. A layer is tagged `corebench/agent-<name>:<hash>` by a content hash of
what goes in (the task image's id, the Dockerfile, the scripts, the recipe and the binary's
SHA-256), so it is built once per task image and agent version and reused after.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import docker.errors

from corebench_runner.agents.cli_agents.npm_fetch import FetchedAgent, fetch
from corebench_runner.agents.cli_agents.recipe import AgentRecipe
from corebench_runner.errors import UserError
from corebench_runner.images.build import run_build
from corebench_runner.images.engine import client as engine_client
from corebench_runner.settings import Settings, load_settings

DOCKERFILE = "agent.Dockerfile"
ENTER_SCRIPT = "enter-agent.sh"
RUN_SCRIPT_IN_IMAGE = "/usr/local/bin/corebench-enter-agent"
REPOSITORY_PREFIX = "corebench/agent-"
AGENT_LABEL = "corebench.agent"
HASH_CHARS = 16


@dataclass(frozen=True)
class AgentLayer:
    """A built layer, as `corebench doctor` lists it."""

    tag: str
    agent: str  # name@version
    task_image: str
    size_bytes: int


def _data(name: str) -> bytes:
    return (resources.files("corebench_runner") / "data" / name).read_bytes()


def _task_image_id(task_image: str) -> str:
    try:
        return engine_client().images.get(task_image).id
    except docker.errors.ImageNotFound:
        raise UserError(f"image {task_image} is not on this machine; build it first "
                        "(`corebench images build-base`, or run the capsule once to build its environment)") from None


def layer_tag(task_image: str, recipe: AgentRecipe, fetched: FetchedAgent) -> str:
    digest = hashlib.sha256()
    for part in (_task_image_id(task_image).encode(), _data(DOCKERFILE), _data(ENTER_SCRIPT), recipe.run_script,
                 recipe.label.encode(), recipe.command.encode(), recipe.files[0].encode(), fetched.digest.encode()):
        digest.update(hashlib.sha256(part).digest())
    return f"{REPOSITORY_PREFIX}{recipe.name}:{digest.hexdigest()[:HASH_CHARS]}"


def agent_image(task_image: str, recipe: AgentRecipe, settings: Settings | None = None) -> str:
    """Build (or reuse) `recipe`'s layer on top of `task_image`; returns its tag.

    A failed fetch or build raises UserError naming the agent and its log (the task is then an
    infra_error, never a wrong answer).
    """
    fetched = fetch(recipe)
    tag = layer_tag(task_image, recipe, fetched)
    try:
        engine_client().images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    settings = settings or load_settings()
    log_dir = Path(settings.build_dir) / "agent" / recipe.name / tag.rsplit(":", 1)[1]
    with tempfile.TemporaryDirectory(prefix=f"corebench-{recipe.name}-") as tmp:
        context = Path(tmp)
        (context / "Dockerfile").write_bytes(_data(DOCKERFILE))
        (context / "enter-agent.sh").write_bytes(_data(ENTER_SCRIPT))
        (context / "run-agent.sh").write_bytes(recipe.run_script)
        # Hard links where the cache shares the filesystem: the binaries are hundreds of MB.
        shutil.copytree(fetched.folder / "files", context / "files", copy_function=_link_or_copy)
        labels = {"corebench.image": "agent", AGENT_LABEL: recipe.label, "corebench.task_image": task_image}
        run_build(context, tag, log_dir, labels=labels, what=f"the {recipe.label} agent layer on {task_image}",
                  buildargs={"TASK_IMAGE": task_image, "AGENT_BINARY": recipe.files[0],
                             "AGENT_COMMAND": recipe.command})
    return tag


def claude_code_image(task_image: str) -> str:
    """The bundled Claude Code's layer on `task_image` (the claude-code and default command scaffolds')."""
    from corebench_runner.agents.cli_agents.recipe import bundled_recipe

    return agent_image(task_image, bundled_recipe("claude-code"))


def _link_or_copy(source: str, target: str) -> None:
    try:
        Path(target).hardlink_to(source)
    except OSError:
        shutil.copy2(source, target)


def built_layers() -> list[AgentLayer]:
    """Every agent layer on this machine, newest first."""
    images = engine_client().images.list(filters={"label": f"{AGENT_LABEL}"})
    layers = []
    for image in sorted(images, key=lambda i: i.attrs.get("Created", ""), reverse=True):
        labels = image.labels or {}
        for tag in image.tags:
            if tag.startswith(REPOSITORY_PREFIX):
                layers.append(AgentLayer(tag=tag, agent=labels.get(AGENT_LABEL, "?"),
                                         task_image=labels.get("corebench.task_image", "?"),
                                         size_bytes=int(image.attrs.get("Size") or 0)))
    return layers
