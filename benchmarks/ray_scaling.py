"""Ray scaling: the same 8 tasks on a 2-node local Ray cluster vs a 1-node one.

Each node offers 4 "docker" slots (the resource the Ray executor asks for), so one node runs
the 8 tasks in two waves and two nodes in one. Tasks are as in parallel_efficiency.py: core-agent
in a real container, a model that answers after a fixed delay. Goal: two nodes take at most
0.6x the wall time of one.

Both local nodes share this machine's cores, so only the time spent waiting on the model can
scale with nodes; a task's container start, copy and removal (a few seconds each under load)
do not. The model delay is therefore long enough (30 s) for waiting to dominate, as it does
in real runs, where a task waits on the model for minutes.

    .venv/bin/python benchmarks/ray_scaling.py [--delay SECONDS]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import ray
from engine_support import KEY, DelayedServer, make_suite, timed_run
from ray.cluster_utils import Cluster

TASKS = 8
SLOTS_PER_NODE = 4
NODE_MEMORY = 100 * 1024 * 1024
GOAL = 0.6


def on_cluster(nodes: int, suite, server) -> float:
    os.environ["ANTHROPIC_API_KEY"] = KEY  # the nodes' workers inherit it
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": SLOTS_PER_NODE, "resources": {"docker": SLOTS_PER_NODE}, "object_store_memory": NODE_MEMORY,
        "include_dashboard": False})
    for _ in range(nodes - 1):
        cluster.add_node(num_cpus=SLOTS_PER_NODE, resources={"docker": SLOTS_PER_NODE}, object_store_memory=NODE_MEMORY)
    cluster.wait_for_nodes()
    try:
        # One driver session for both runs, so the timed run finds its Ray workers started and warm,
        # as every run after the first few tasks of a long one does.
        ray.init(address=cluster.address, log_to_driver=False)
        timed_run(suite, server, concurrency=TASKS, executor="ray")
        seconds, _ = timed_run(suite, server, concurrency=TASKS, executor="ray")
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=30.0, help="seconds the model takes to answer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, DelayedServer(args.delay) as server:
        suite = make_suite(Path(tmp) / "suite", TASKS)
        one = on_cluster(1, suite, server)
        two = on_cluster(2, suite, server)
    ratio = two / one
    print(f"{'tasks':>18}: {TASKS} ({SLOTS_PER_NODE} Docker slots per node, model delay {args.delay:g}s)")
    print(f"{'1 node':>18}: {one:7.1f}s")
    print(f"{'2 nodes':>18}: {two:7.1f}s")
    print(f"{'2 nodes / 1 node':>18}: {ratio:7.2f}x  goal <= {GOAL}x  {'MET' if ratio <= GOAL else 'NOT MET'}")


if __name__ == "__main__":
    main()
