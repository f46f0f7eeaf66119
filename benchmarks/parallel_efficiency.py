"""Parallel efficiency of the local executor: 8 tasks, concurrency 1 vs 8.

Each task runs core-agent against a model that answers after a fixed delay (the local Messages
API server over HTTP, the real SDK). Ideal speed-up is 8x; the goal is at least 90% of it.
Two columns, side by side: tasks in real Docker containers, and in the local sandbox (no
containers), which isolates the engine's own overhead from the Docker engine's. Starting 8
containers at once takes the Docker engine seconds on a 2-core host; the task runner starts each
task's container while its first model call is out, so that cost hides behind the model. What
remains (commands, removing containers) shrinks in proportion as the model delay grows (real
tasks wait on the model for minutes).

    .venv/bin/python benchmarks/parallel_efficiency.py [--delay SECONDS] [--sandbox docker|local|both]
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

from engine_support import DelayedServer, make_suite, timed_run

TASKS = 8
GOAL = 0.90


def measure(suite, server, sandbox: str) -> tuple[float, float]:
    timed_run(suite, server, concurrency=2, sandbox=sandbox)  # warm-up: images and plugins loaded once
    serial, _ = timed_run(suite, server, concurrency=1, sandbox=sandbox)
    parallel, _ = timed_run(suite, server, concurrency=TASKS, sandbox=sandbox)
    return serial, parallel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=20.0, help="seconds the model takes to answer")
    parser.add_argument("--sandbox", choices=("docker", "local", "both"), default="both")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="the local sandbox is not a sandbox")
    kinds = ["docker", "local"] if args.sandbox == "both" else [args.sandbox]
    results = {}
    with tempfile.TemporaryDirectory() as tmp, DelayedServer(args.delay) as server:
        suite = make_suite(Path(tmp) / "suite", TASKS)
        for kind in kinds:
            results[kind] = measure(suite, server, kind)
    print(f"{TASKS} tasks, model delay {args.delay:g}s" + "".join(f"{kind + ' sandbox':>18}" for kind in kinds))
    rows = [("concurrency 1", lambda s, p: f"{s:.1f}s"), ("concurrency 8", lambda s, p: f"{p:.1f}s"),
            ("speed-up", lambda s, p: f"{s / p:.2f}x"), ("efficiency", lambda s, p: f"{s / p / TASKS:.1%}")]
    for label, cell in rows:
        print(f"{label:>25}" + "".join(f"{cell(*results[kind]):>18}" for kind in kinds))
    verdicts = "   ".join(f"{kind}: {'MET' if results[kind][0] / results[kind][1] / TASKS >= GOAL else 'NOT MET'}"
                           for kind in kinds)
    print(f"{'goal >= ' + format(GOAL, '.0%'):>25}   {verdicts}")


if __name__ == "__main__":
    main()
