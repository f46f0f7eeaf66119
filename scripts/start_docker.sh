#!/usr/bin/env bash
# Start the Docker engine when none answers, then wait until it does.
# Nothing on these machines starts dockerd for us.
set -euo pipefail
DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || DOCKER=$(command -v docker)
if "$DOCKER" info >/dev/null 2>&1; then
  echo "Docker engine is answering"
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "error: dockerd is not installed; install Debian's docker.io package (scripts/setup.sh does)" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
LOG=${DOCKERD_LOG:-/var/log/corebench-dockerd.log}
echo "starting dockerd (log: $LOG)"
$SUDO sh -c "nohup dockerd >>'$LOG' 2>&1 &"
for _ in $(seq 1 60); do
  if "$DOCKER" info >/dev/null 2>&1; then
    echo "Docker engine is answering"
    exit 0
  fi
  sleep 1
done
echo "error: dockerd did not answer within 60 s; see $LOG" >&2
exit 1
