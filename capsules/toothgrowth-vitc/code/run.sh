#!/bin/bash
set -e
cd "$(dirname "$0")/.."
Rscript code/toothgrowth.R
