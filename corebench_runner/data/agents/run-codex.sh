#!/bin/bash
# Run Codex once, non-interactively, with full permissions (`codex exec --json`).
# Environment, set by the scaffold for this exec only (corebench_runner/agents/cli_agents/session.py):
#   CBR_BASE_URL     the metering relay on the host (ends in /v1)   CBR_TOKEN  a per-task relay token, never the key
#   CBR_MODEL        model id                            CBR_WORKDIR the workspace
#   CBR_PROMPT_FILE  file holding the prompt (the task, or the reminder when resuming)
#   CBR_MAX_TURNS    turn limit (Codex has none of its own: the relay's caps and the time limit stop it)
#   CBR_RESUME       a thread id to continue (empty: new)
set -euo pipefail
export CODEX_HOME="${HOME:-/root}/.codex-corebench"
mkdir -p "$CODEX_HOME"
# Codex's ripgrep, shipped beside it, for its search tool.
export PATH="/opt/corebench-agent/vendor/x86_64-unknown-linux-musl/codex-path:$PATH"
# A model provider pointing at the relay; the token is read from the environment (env_key).
cat > "$CODEX_HOME/config.toml" <<TOML
model = "$CBR_MODEL"
model_provider = "corebench-relay"
check_for_update_on_startup = false

[model_providers.corebench-relay]
name = "corebench relay"
base_url = "$CBR_BASE_URL"
env_key = "CBR_TOKEN"
wire_api = "responses"
request_max_retries = 1
stream_max_retries = 1

[analytics]
enabled = false
[feedback]
enabled = false
TOML
cd "$CBR_WORKDIR"
flags=(--json --dangerously-bypass-approvals-and-sandbox --skip-git-repo-check -m "$CBR_MODEL")
if [ -n "${CBR_RESUME:-}" ]; then
  exec codex exec resume "${flags[@]}" "$CBR_RESUME" "$(cat "$CBR_PROMPT_FILE")" </dev/null
fi
exec codex exec "${flags[@]}" --color never -C "$CBR_WORKDIR" "$(cat "$CBR_PROMPT_FILE")" </dev/null
