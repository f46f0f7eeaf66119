#!/usr/bin/env bash
# Set up (idempotently) and run the whole test suite, as CI does.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The slowest tests, listed at the end: where CI time goes.
exec .venv/bin/pytest --durations=30 "$@"
