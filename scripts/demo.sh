#!/usr/bin/env bash
# The main job on a fresh machine: set up, run the bundled suite, build the HTML report.
# Without ANTHROPIC_API_KEY the oracle scaffold runs (it reproduces each capsule with its own
# code, no model); with a key, core-agent runs against the real model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
CB=.venv/bin/corebench
STORE=${COREBENCH_STORE:-$PWD/.corebench/results.sqlite}
LEVEL=${LEVEL:-hard}
if [ -n "${ANTHROPIC_API_KEY:-}" ]; then
  MODEL=${MODEL:-anthropic:claude-opus-5-5}
  "$CB" run --model "$MODEL" --scaffold core-agent --level "$LEVEL" --all --store "$STORE" --max-cost "${MAX_COST:-20}"
else
  echo "ANTHROPIC_API_KEY is not set: running the oracle scaffold (no model)"
  "$CB" run --model none --scaffold oracle --level "$LEVEL" --all --store "$STORE"
fi
"$CB" runs --store "$STORE"
"$CB" report --store "$STORE" --out site/
echo "report: $PWD/site/index.html"
