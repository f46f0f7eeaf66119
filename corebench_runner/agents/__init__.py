"""Agents: the scaffold contract and what scaffolds share.

contract.py is the Scaffold protocol the engine calls, its defaults, and the loader that checks a
plugin against it. core-agent's tools act only through the sandbox (tools.py), with old tool
outputs elided to fit the context window (context.py). Agent CLIs (Claude Code, Codex, OpenCode, or
any CLI a recipe describes) run inside a task's container: recipe.py says what an agent is;
npm_fetch.py fetches its native binary on the host once per machine; image.py layers it onto a task
image; cli_session.py runs it, talking to the model only through the metering relay (relay.py,
relay_usage.py, started by relays.py); scaffold.py is the scaffold over a recipe; the normalise_*
modules turn each agent's event stream into the transcript events the report renders; health.py is
what `doctor` checks.
"""
