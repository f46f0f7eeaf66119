#!/bin/bash
set -e
cd "$(dirname "$0")/.."
Rscript code/paired_test.R
python3 code/plot_differences.py
