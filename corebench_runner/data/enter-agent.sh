#!/bin/bash
# Start an agent's run script as the right user: agents that refuse to run with full permissions
# as root (CBR_AGENT_USER set) get the workspace and the prompt, then run as that user.
set -euo pipefail
# Our process group (the exec wrapper gives each exec its own): the scaffold stops the agent by it
# once the relay has refused it for spending its budget.
echo $$ > /tmp/corebench-agent.pid
user="${CBR_AGENT_USER:-}"
if [ -n "$user" ] && [ "$(id -u)" = 0 ]; then
  chown -R "$user" "$CBR_WORKDIR"
  chmod a+r "$CBR_PROMPT_FILE"
  # runuser keeps the environment (only HOME, SHELL, USER, LOGNAME change).
  exec runuser -u "$user" -- /usr/local/bin/corebench-run-agent "$@"
fi
exec /usr/local/bin/corebench-run-agent "$@"
