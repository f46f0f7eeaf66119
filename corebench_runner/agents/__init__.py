"""Agent CLIs (Claude Code, Codex, OpenCode, or any CLI a recipe describes) run inside a task's container.

recipe.py says what an agent is (npm package, binary, run script, transcript format);
npm_fetch.py fetches its native binary on the host once per machine; agent_image.py layers
it onto a task image; agent_cli.py runs it behind the metering relay; the normalise_*
modules turn each agent's event stream into the transcript events the report renders.
"""
