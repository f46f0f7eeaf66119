#!/bin/bash
# Upstream-style entry point; run from anywhere.
set -e
cd "$(dirname "$0")/.."
python3 code/longley.py
