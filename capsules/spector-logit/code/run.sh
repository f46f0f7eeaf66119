#!/bin/bash
set -e
cd "$(dirname "$0")/.."
python3 code/spector_logit.py
