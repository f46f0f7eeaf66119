"""corebench-runner: run paper-reproduction agent benchmarks in the style of CORE-Bench."""

__version__ = "0.1.0"
