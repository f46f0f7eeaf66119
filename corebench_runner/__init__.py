"""corebench-runner: run paper-reproduction agent benchmarks in the style of CORE-Bench.

Each folder is one job (docs/architecture.md): cli/ over running/ and report/, over agents/ and
review/, over grading/, models/, images/ and diagnostics/, over capsules/, sandbox/, store/ and
executors/, over the records (records.py, errors.py, settings.py, deadline.py) and the plugin
registry (registry.py). bundled/ is the bundled suite, its plugins registered by entry points.
The scripted model and its local servers live apart, in corebench_scripted/, a plugin like any other.
"""

__version__ = "0.1.0"
