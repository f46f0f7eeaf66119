"""The Scaffold contract: the agent under test, and how the engine loads one.

A scaffold plugin (scaffolds/NAME.py or scaffolds/NAME/__init__.py, or an entry point in the
group `corebench_runner.scaffolds`) exposes SCAFFOLD, an object with the members of `Scaffold`
below. It is given a TaskSpec (never a reference answer), a live sandbox whose workspace is
already copied in, a model client (None for scaffolds that need none, e.g. the oracle) and
limits; it returns a Submission: what it did (transcript, usage, steps) and, when it ended the
task early, why (timeout, budget_exceeded, infra_error, skipped). Whether the task left a report
to grade is not the scaffold's to say: the engine reads report.json itself, the same way for every
scaffold (running/outputs.py).

`name`, `version`, `needs_model` and `run` are required. The other members are optional: a plugin
may subclass `ScaffoldBase` for their defaults, or leave them out and `load_scaffold` supplies the
same defaults. Either way the engine calls every member directly.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from corebench_runner.capsules.plugins import find_plugin
from corebench_runner.errors import UserError
from corebench_runner.models.base import ModelClient
from corebench_runner.records import Limits, Submission, TaskSpec
from corebench_runner.sandbox.base import Sandbox

MODEL_APIS = ("anthropic", "openai")


@runtime_checkable
class Scaffold(Protocol):
    name: str
    """What `--scaffold` calls it; recorded with the run."""

    version: str
    """Recorded with the run (`scaffold_version`), so results of two versions are never mixed up."""

    needs_model: bool
    """True: the engine makes the `--model` client (and checks its key) before the run, and passes it
    to `run`. False: `run` gets None and the run's model is "none"."""

    always_uses_capsule_environment: bool
    """True: the task runs in the capsule's own environment image (built from its Dockerfile),
    whatever the level. False: the level decides (medium: environment image; easy and hard: the
    generic toolbox image, where the agent installs what it needs). Optional, default False."""

    model_api: str | None
    """The one model API the scaffold can speak ("anthropic" or "openai"), checked against `--model`
    before the run; None when any client will do (it calls `model.complete`). Optional, default None."""

    def image_for(self, task_image: str) -> str:
        """The image the task's sandbox starts from, given the one the level chose (e.g. that image
        plus an agent CLI's layer). Called once per task, before the sandbox starts; it may build.
        Optional, default: `task_image` itself."""
        ...

    def run(self, task: TaskSpec, sandbox: Sandbox, model: ModelClient | None, limits: Limits) -> Submission:
        """Work on `task` inside `sandbox` within `limits`; the answers go to task.report_path in the
        sandbox. Raising is an infrastructure failure (the engine retries the task); a UserError
        stops the run with its message."""
        ...


class ScaffoldBase:
    """Defaults for the contract's optional members; subclass it and set name, version, needs_model, run."""

    always_uses_capsule_environment: bool = False
    model_api: str | None = None

    def image_for(self, task_image: str) -> str:
        return task_image


REQUIRED = ("name", "version", "needs_model", "run")
OPTIONAL = ("always_uses_capsule_environment", "model_api", "image_for")
MEMBERS = REQUIRED + OPTIONAL
# How each member is named in a refusal: what to define.
SHAPES = {"name": "`name` (a string)", "version": "`version` (a string)",
          "needs_model": "`needs_model` (True or False)", "run": "`run(task, sandbox, model, limits) -> Submission`",
          "always_uses_capsule_environment": "`always_uses_capsule_environment` (True or False)",
          "model_api": "`model_api` (\"anthropic\", \"openai\" or None)",
          "image_for": "`image_for(task_image) -> str`"}


def contract_problems(plugin: Any) -> dict[str, str]:
    """What `plugin` lacks or has in the wrong shape, by member; empty when it has every member."""
    problems = {}
    for member in MEMBERS:
        if not hasattr(plugin, member):
            problems[member] = f"lacks {SHAPES[member]}"
        elif not _fits(member, getattr(plugin, member)):
            problems[member] = f"has {member} = {getattr(plugin, member)!r}, not {SHAPES[member]}"
    return problems


def _fits(member: str, value: Any) -> bool:
    if member in ("name", "version"):
        return isinstance(value, str)
    if member in ("needs_model", "always_uses_capsule_environment"):
        return isinstance(value, bool)
    if member == "model_api":
        return value is None or value in MODEL_APIS
    arguments = 4 if member == "run" else 1
    try:
        inspect.signature(value).bind(*[None] * arguments)
    except (TypeError, ValueError):  # not callable, or not with that many arguments
        return False
    return True


def load_scaffold(name: str, suite_root: Path | None = None) -> Scaffold:
    """The scaffold `--scaffold NAME` names, with every member of the contract; a plugin that lacks a
    required one, or has one in the wrong shape, is refused with one line naming its file."""
    plugin, source = find_plugin("scaffolds", name, suite_root)
    problems = contract_problems(plugin)
    refused = [problem for member, problem in problems.items() if member in REQUIRED or hasattr(plugin, member)]
    if refused:
        raise UserError(f"{source}: scaffold {name!r} {'; '.join(refused)}; see the Scaffold contract in "
                        "corebench_runner/agents/contract.py (or subclass its ScaffoldBase)")
    return plugin if not problems else _WithDefaults(plugin)


class _WithDefaults(ScaffoldBase):
    """A plugin that leaves optional members out, completed with ScaffoldBase's defaults."""

    def __init__(self, plugin: Any) -> None:
        self.plugin = plugin
        for member in OPTIONAL:
            if hasattr(plugin, member):
                setattr(self, member, getattr(plugin, member))

    @property
    def name(self) -> str:
        return self.plugin.name

    @property
    def version(self) -> str:
        return self.plugin.version

    @property
    def needs_model(self) -> bool:
        return self.plugin.needs_model

    def run(self, task: TaskSpec, sandbox: Sandbox, model: ModelClient | None, limits: Limits) -> Submission:
        return self.plugin.run(task, sandbox, model, limits)
