# The command scaffold's agent layer: Node.js from Debian and Claude Code from npm, on top of
# the task's own image. Built and cached by corebench_runner/agent_image.py.
ARG TASK_IMAGE
FROM ${TASK_IMAGE}
ARG CLAUDE_CODE_VERSION
USER root
# extra-ca.crt is the CA bundle from the settings (empty when off): npm keeps its own CA
# list, so it is told about the host's bundle explicitly.
COPY extra-ca.crt /tmp/corebench-extra-ca.crt
COPY run-claude-code.sh /usr/local/bin/corebench-run-claude-code
RUN set -eu \
 && apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /usr/local/share/corebench-agent \
 && cat /etc/ssl/certs/ca-certificates.crt /tmp/corebench-extra-ca.crt > /usr/local/share/corebench-agent/ca.crt \
 && rm /tmp/corebench-extra-ca.crt \
 && npm install --global --no-audit --no-fund --cafile /usr/local/share/corebench-agent/ca.crt \
      "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}" \
 && npm cache clean --force \
 && claude --version \
 && chmod 0755 /usr/local/bin/corebench-run-claude-code \
 && (id -u agent >/dev/null 2>&1 || useradd --create-home --uid 1000 --shell /bin/bash agent)
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/corebench-agent/ca.crt \
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
    DISABLE_AUTOUPDATER=1
