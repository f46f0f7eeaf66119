#!/bin/bash
set -e
cd "$(dirname "$0")/.."
Rscript code/faithful.R
