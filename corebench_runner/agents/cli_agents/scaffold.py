"""A scaffold that runs one agent CLI (a recipe) inside the task's container.

The bundled claude-code, codex and opencode scaffolds are each one line over this; the
`command` scaffold runs whatever recipe $COREBENCH_AGENT_RECIPE names.
"""

from __future__ import annotations

from typing import Callable

from corebench_runner.agents.cli_agents.recipe import AgentRecipe
from corebench_runner.agents.cli_agents.session import run_agent
from corebench_runner.agents.contract import ScaffoldBase
from corebench_runner.agents.image import agent_image
from corebench_runner.models.base import ModelClient
from corebench_runner.records import Limits, Submission, TaskSpec
from corebench_runner.sandbox.base import Sandbox


class AgentScaffold(ScaffoldBase):
    needs_model = True

    def __init__(self, name: str, recipe: Callable[[], AgentRecipe]) -> None:
        self.name = name
        self._recipe = recipe

    @property
    def recipe(self) -> AgentRecipe:
        """Read afresh each time: the version and recipe settings are environment variables."""
        return self._recipe()

    @property
    def version(self) -> str:
        """Recorded in the run's config: which agent, at which version."""
        return self.recipe.label

    @property
    def model_api(self) -> str:
        """An agent CLI speaks one provider's API: --model must be that provider's (or a scripted session of it)."""
        return self.recipe.api

    def image_for(self, task_image: str) -> str:
        """The image the task's sandbox must use: task_image plus the agent's layer."""
        return agent_image(task_image, self.recipe)

    def run(self, task: TaskSpec, sandbox: Sandbox, model: ModelClient | None, limits: Limits) -> Submission:
        return run_agent(self.recipe, task, sandbox, model, limits)
