"""What `corebench doctor` says about agents: which native binaries are cached, which layers are built."""

from __future__ import annotations

from dataclasses import dataclass

from corebench_runner.agents.cli_agents.npm_fetch import cache_folder, cached
from corebench_runner.agents.cli_agents.recipe import BUNDLED, bundled_recipe
from corebench_runner.errors import UserError


@dataclass(frozen=True)
class AgentCheck:
    level: str  # ok | warn
    what: str
    fix: str = ""


def agent_checks() -> list[AgentCheck]:
    from corebench_runner.agents.image import built_layers

    checks = []
    for name in BUNDLED:
        try:
            recipe = bundled_recipe(name)
        except UserError as exc:  # e.g. a bad $COREBENCH_CODEX_VERSION
            checks.append(AgentCheck("warn", f"agent {name}", exc.message))
            continue
        if cached(recipe):
            checks.append(AgentCheck("ok", f"agent {recipe.label}: binary cached in {cache_folder(recipe)}"))
        else:
            checks.append(AgentCheck("warn", f"agent {recipe.label}: binary not fetched yet",
                                     f"the first --scaffold {name} run fetches it with npm, or run "
                                     f"`python -m corebench_runner.agents.cli_agents.npm_fetch {name}` now"))
    layers = built_layers()
    if not layers:
        checks.append(AgentCheck("ok", "agent layers: none built yet (each is built on first use, then reused)"))
    for layer in layers:
        checks.append(AgentCheck("ok", f"agent layer {layer.tag}: {layer.agent} on {layer.task_image}, "
                                       f"{layer.size_bytes / 1e9:.1f} GB"))
    return checks
