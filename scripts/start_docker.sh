#!/usr/bin/env bash
# Make the Docker engine answer: install Debian's docker.io when dockerd is missing, start dockerd
# when no engine answers (nothing on these machines starts it for us), then wait until it does.
# First, when Podman is installed, make it able to start containers here (it has no daemon to
# start: corebench starts its service when a run needs it).
# Safe to run again; does nothing when an engine already answers.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# Podman: on hosts like these a container cannot set Podman's default rlimits ("error setting
# rlimit"), so its containers get none (as Docker's do). A drop-in, read by rootful and rootless
# Podman alike; $CONTAINERS_CONF, when set, replaces every file, so it must say the same.
PODMAN_DROPIN=/etc/containers/containers.conf.d/corebench.conf
if command -v podman >/dev/null 2>&1 && [ ! -f "$PODMAN_DROPIN" ]; then
  echo "Podman: writing $PODMAN_DROPIN (default_ulimits = [])"
  $SUDO mkdir -p "$(dirname "$PODMAN_DROPIN")"
  printf '# corebench-runner: containers start without default rlimits (this host refuses them)\n[containers]\ndefault_ulimits = []\n' \
    | $SUDO tee "$PODMAN_DROPIN" >/dev/null
fi

answering() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

if answering; then
  echo "Docker engine is answering"
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "dockerd is missing: installing Debian's docker.io"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi
# A dockerd killed without cleanup leaves its pid file, and a new one then refuses to start.
PIDFILE=/var/run/docker.pid
if [ -f "$PIDFILE" ] && ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  echo "removing stale $PIDFILE"
  $SUDO rm -f "$PIDFILE"
fi
LOG=${DOCKERD_LOG:-/var/log/corebench-dockerd.log}
if pgrep -x dockerd >/dev/null 2>&1; then
  echo "dockerd is running but not answering yet; waiting (log: $LOG)"
else
  echo "starting dockerd (log: $LOG)"
  $SUDO sh -c "nohup dockerd >>'$LOG' 2>&1 &"
fi
for _ in $(seq 1 90); do
  if answering; then
    echo "Docker engine is answering"
    exit 0
  fi
  sleep 1
done
echo "error: dockerd did not answer within 90 s; see $LOG" >&2
exit 1
