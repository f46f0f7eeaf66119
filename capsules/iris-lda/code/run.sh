#!/bin/bash
set -e
cd "$(dirname "$0")/.."
Rscript code/iris_lda.R
