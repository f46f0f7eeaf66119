#!/bin/bash
# Run Claude Code once, non-interactively, with full permissions (see agents.toml's run_script).
# Environment, set by the scaffold for this exec only (corebench_runner/agents/cli_agents/session.py):
#   CBR_BASE_URL     the metering relay on the host      CBR_TOKEN   a per-task relay token, never the key
#   CBR_MODEL        model id                            CBR_WORKDIR the workspace
#   CBR_PROMPT_FILE  file holding the prompt (the task, or the reminder when resuming)
#   CBR_MAX_TURNS    turn limit (empty: none)            CBR_RESUME  a session id to continue (empty: new)
set -euo pipefail
export ANTHROPIC_BASE_URL="$CBR_BASE_URL" ANTHROPIC_API_KEY="$CBR_TOKEN"
export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1
cd "$CBR_WORKDIR"
args=(-p "$(cat "$CBR_PROMPT_FILE")" --output-format stream-json --verbose
      --dangerously-skip-permissions --model "$CBR_MODEL")
if [ -n "${CBR_MAX_TURNS:-}" ]; then args+=(--max-turns "$CBR_MAX_TURNS"); fi
if [ -n "${CBR_RESUME:-}" ]; then args+=(--resume "$CBR_RESUME"); fi
exec claude "${args[@]}"
