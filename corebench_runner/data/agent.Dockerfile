# An agent layer: the task's own image plus one agent's native binary, fetched from npm on the
# host (corebench_runner/agents/cli_agents/npm_fetch.py), so the build needs no network. Built and cached
# by corebench_runner/agent_image.py.
ARG TASK_IMAGE
FROM ${TASK_IMAGE}
ARG AGENT_BINARY
ARG AGENT_COMMAND
USER root
COPY files/ /opt/corebench-agent/
COPY run-agent.sh /usr/local/bin/corebench-run-agent
COPY enter-agent.sh /usr/local/bin/corebench-enter-agent
RUN set -eu \
 && ln -sf "/opt/corebench-agent/${AGENT_BINARY}" "/usr/local/bin/${AGENT_COMMAND}" \
 && chmod 0755 /usr/local/bin/corebench-run-agent /usr/local/bin/corebench-enter-agent \
 && (id -u agent >/dev/null 2>&1 || useradd --create-home --uid 1000 --shell /bin/bash agent) \
 && "${AGENT_COMMAND}" --version
