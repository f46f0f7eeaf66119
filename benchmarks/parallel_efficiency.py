"""Parallel efficiency of the local executor: 8 tasks, concurrency 1 vs 8.

Each task runs core-agent in a real Docker container against a model that answers after a
fixed delay (the local Messages API server over HTTP). Ideal speed-up is 8x; the goal is at
least 90% of it.

    .venv/bin/python benchmarks/parallel_efficiency.py [--delay SECONDS]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from engine_support import DelayedServer, make_suite, timed_run

TASKS = 8
GOAL = 0.90


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=20.0, help="seconds the model takes to answer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, DelayedServer(args.delay) as server:
        suite = make_suite(Path(tmp) / "suite", TASKS)
        timed_run(suite, server, concurrency=2)  # warm-up: images and plugins loaded once
        serial, _ = timed_run(suite, server, concurrency=1)
        parallel, _ = timed_run(suite, server, concurrency=TASKS)
    speedup = serial / parallel
    efficiency = speedup / TASKS
    print(f"{'tasks':>22}: {TASKS} (model delay {args.delay:g}s, Docker sandbox)")
    print(f"{'concurrency 1':>22}: {serial:7.1f}s")
    print(f"{'concurrency 8':>22}: {parallel:7.1f}s")
    print(f"{'speed-up':>22}: {speedup:7.2f}x (ideal {TASKS}x)")
    print(f"{'parallel efficiency':>22}: {efficiency:7.1%}  goal >= {GOAL:.0%}  "
          f"{'MET' if efficiency >= GOAL else 'NOT MET'}")


if __name__ == "__main__":
    main()
