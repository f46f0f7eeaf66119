"""The command scaffold: any agent CLI described by a recipe file, run in the task's container.

$COREBENCH_AGENT_RECIPE names the recipe (TOML: npm package and files, run script, transcript
format; docs/scaffolds.md); without it, the bundled Claude Code recipe. The CLI reaches the
model only through the metering relay on the host, which holds the API key.
"""

from __future__ import annotations

import os
from pathlib import Path

from corebench_runner.agents.cli_agents.recipe import AgentRecipe, bundled_recipe, load_recipe
from corebench_runner.agents.cli_agents.scaffold import AgentScaffold


def recipe() -> AgentRecipe:
    recipe_file = os.environ.get("COREBENCH_AGENT_RECIPE", "").strip()
    return load_recipe(Path(recipe_file).expanduser()) if recipe_file else bundled_recipe("claude-code")


SCAFFOLD = AgentScaffold("command", recipe)
