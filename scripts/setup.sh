#!/usr/bin/env bash
# Set up a fresh Debian machine for corebench-runner, idempotently:
# Debian packages, the Docker engine (started if not answering) and Podman (configured), a venv with
# the package and its test extras, and the locally built base images (Docker's, and Podman's
# corebench/base, imported from the same debootstrap). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
log() { printf '\n== %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

APT_PACKAGES=(git gnupg ca-certificates curl openssl debian-archive-keyring debootstrap docker.io chromium fonts-liberation tmux iproute2 sqlite3)
# --sandbox podman: Podman with what --no-install-recommends would leave out (an init for containers,
# its network stack, and what rootless Podman needs).
APT_PACKAGES+=(podman catatonit netavark aardvark-dns slirp4netns uidmap fuse-overlayfs)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# npm fetches the agents' native binaries; any npm will do, so Debian's only when there is none.
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

log "Docker engine and Podman"
bash scripts/start_docker.sh

log "Python environment (.venv)"
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip >/dev/null 2>&1 || true
# The build backend is chatty even with -q: keep its output in a log, shown only on failure.
if ! .venv/bin/pip install -q -e ".[test]" > .venv/pip-install.log 2>&1; then
  tail -40 .venv/pip-install.log >&2
  echo "error: installing the Python dependencies failed; full log: $ROOT/.venv/pip-install.log" >&2
  exit 1
fi

log "base images (built from Debian's archive; cached after the first build)"
.venv/bin/corebench images build-base
# Podman's own corebench/base (its sandbox suites need no other): the root filesystem debootstrap
# made above is imported, not made again.
.venv/bin/corebench images build-base --sandbox podman --only base

log "agent binaries: Claude Code, Codex, OpenCode (from npm; cached after the first fetch)"
.venv/bin/python -m corebench_runner.agents.cli_agents.npm_fetch

log "ready: $ROOT/.venv/bin/corebench"
