#!/bin/bash
# Run Claude Code once, non-interactively, for the command scaffold.
# Environment (set by the scaffold for this exec only):
#   ANTHROPIC_BASE_URL  the metering relay on the host
#   ANTHROPIC_API_KEY   a per-task relay token (never the real key)
#   CBR_MODEL           model id, e.g. claude-sonnet-4-5
#   CBR_PROMPT_FILE     file holding the task prompt
#   CBR_WORKDIR         the workspace
#   CBR_AGENT_USER      unprivileged user to run as (default: agent)
# Claude Code refuses --dangerously-skip-permissions as root, so root hands over to the user.
set -euo pipefail
user="${CBR_AGENT_USER:-agent}"
if [ "$(id -u)" = 0 ]; then
  chown -R "$user" "$CBR_WORKDIR"
  chmod a+r "$CBR_PROMPT_FILE"
  # runuser keeps the environment (only HOME, SHELL, USER, LOGNAME change).
  exec runuser -u "$user" -- "$0" "$@"
fi
export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1
cd "$CBR_WORKDIR"
exec claude -p "$(cat "$CBR_PROMPT_FILE")" \
  --output-format stream-json --verbose \
  --dangerously-skip-permissions \
  --no-session-persistence \
  --model "$CBR_MODEL" \
  "$@"
