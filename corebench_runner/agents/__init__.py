"""Agents: the scaffold contract, and one subpackage per kind of agent machinery.

contract.py is the Scaffold protocol the engine calls, its defaults, and the loader that checks a
plugin against it; context.py elides old tool outputs so a host-side loop fits the context window.
core_agent/ holds core-agent's tools, acting only through the sandbox. cli_agents/ runs agent CLIs
(Claude Code, Codex, OpenCode, or any CLI a recipe describes) inside a task's container: the
recipe, the npm fetch of the binary, the session that runs it and reads its stream, the readers
that normalise each stream, the scaffold over a recipe and what `doctor` checks. relay/ is the
metering relay on the host those CLIs talk to, with its HTTP code. image.py layers an agent's
binary onto a task image.
"""
