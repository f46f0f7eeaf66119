#!/bin/bash
# Run OpenCode once, non-interactively, with full permissions (`opencode run --format json`).
# Environment, set by the scaffold for this exec only (corebench_runner/agents/cli_agents/session.py):
#   CBR_BASE_URL     the metering relay on the host (ends in /v1)   CBR_TOKEN  a per-task relay token, never the key
#   CBR_MODEL        model id                            CBR_WORKDIR the workspace
#   CBR_PROMPT_FILE  file holding the prompt (the task, or the reminder when resuming)
#   CBR_MAX_TURNS    step limit (empty: none)            CBR_RESUME  a session id to continue (empty: new)
set -euo pipefail
home="${HOME:-/root}"
export XDG_CONFIG_HOME="$home/.config-corebench" XDG_DATA_HOME="$home/.local/share" XDG_CACHE_HOME="$home/.cache"
mkdir -p "$XDG_CONFIG_HOME/opencode"
steps="${CBR_MAX_TURNS:-}"
# One provider, the relay, speaking Chat Completions; the key is read from the environment.
cat > "$XDG_CONFIG_HOME/opencode/opencode.json" <<JSON
{
  "\$schema": "https://opencode.ai/config.json",
  "model": "corebench/$CBR_MODEL",
  "small_model": "corebench/$CBR_MODEL",
  "autoupdate": false,
  "share": "disabled",
  "enabled_providers": ["corebench"],
  "permission": {"*": "allow", "bash": "allow", "edit": "allow", "webfetch": "allow", "external_directory": "allow", "doom_loop": "allow"},
  "agent": {"build": {${steps:+\"steps\": $steps, }"permission": {"*": "allow"}}},
  "provider": {
    "corebench": {
      "npm": "@ai-sdk/openai-compatible",
      "name": "corebench relay",
      "options": {"baseURL": "$CBR_BASE_URL", "apiKey": "{env:CBR_TOKEN}"},
      "models": {"$CBR_MODEL": {"name": "$CBR_MODEL"}}
    }
  }
}
JSON
export OPENCODE_DISABLE_AUTOUPDATE=1 OPENCODE_DISABLE_MODELS_FETCH=1 OPENCODE_DISABLE_SHARE=1 \
  OPENCODE_DISABLE_LSP_DOWNLOAD=1 OPENCODE_DISABLE_DEFAULT_PLUGINS=1 OPENCODE_DISABLE_CLAUDE_CODE=1
cd "$CBR_WORKDIR"
args=(run --format json --pure --auto --title "corebench task" --model "corebench/$CBR_MODEL")
if [ -n "${CBR_RESUME:-}" ]; then args+=(--session "$CBR_RESUME"); fi
exec opencode "${args[@]}" -- "$(cat "$CBR_PROMPT_FILE")" </dev/null
