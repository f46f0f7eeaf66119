"""The Scaffold contract: the agent under test.

A scaffold plugin (scaffolds/NAME.py or scaffolds/NAME/__init__.py) exposes SCAFFOLD,
an object with this shape. It is given a TaskSpec (never a reference answer), a live
sandbox whose workspace is already copied in, a model client (None for scaffolds that
need none, e.g. the oracle) and limits; it returns a Submission.
"""

from __future__ import annotations

from typing import Protocol

from corebench_runner.models.base import ModelClient
from corebench_runner.records import Limits, Submission, TaskSpec
from corebench_runner.sandbox.base import Sandbox


class Scaffold(Protocol):
    name: str
    version: str
    needs_model: bool
    # True: the task runs in the capsule's own environment image (built from its Dockerfile),
    # whatever the level. False: the level decides (medium: environment image; easy and hard:
    # the generic toolbox image, where the agent installs what it needs).
    always_uses_capsule_environment: bool

    def run(self, task: TaskSpec, sandbox: Sandbox, model: ModelClient | None, limits: Limits) -> Submission: ...
