"""The opencode scaffold: OpenCode (OpenAI-compatible API) in the task's container, behind the metering relay.

Its native binary comes from npm (version: the bundled recipe's, or $COREBENCH_OPENCODE_VERSION); see docs/scaffolds.md.
"""

from corebench_runner.agents.cli_agents.recipe import bundled_recipe
from corebench_runner.agents.cli_agents.scaffold import AgentScaffold

SCAFFOLD = AgentScaffold("opencode", lambda: bundled_recipe("opencode"))
