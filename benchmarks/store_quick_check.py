"""What `PRAGMA quick_check` on every open costs: opening a 100,000-task store with and without it.

The store is written through the store's own functions (create_run, then claim_task + finish_task
per task, each task with 3 answers and a usage row), then opened REPEATS times each way, with the
file in the page cache (the usual case: the CLI opens a store it just used) and reported as the
median. "Without" is open_store with the check switched off, so the rest of the open is the same.

    .venv/bin/python benchmarks/store_quick_check.py [--tasks N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from corebench_runner.records import Usage
from corebench_runner.store import database as store_module
from corebench_runner.store.database import AnswerRecord, TaskRecord, claim_task, create_run, finish_task, open_store

QUESTIONS = ("Report the test accuracy.", "Report the number of epochs.", "From the figure, report the best model.")
REPEATS = 5


def build(path: Path, n: int) -> None:
    with open_store(path) as store:
        create_run(store, "bench", model="m", scaffold="s", scaffold_version="1", level="hard", grader="tolerant",
                   engine_version="0", host="h", config={}, tasks=[(f"capsule-{i}", 0, "hash") for i in range(n)])
        for i, (task_id,) in enumerate(store.query("SELECT id FROM tasks ORDER BY id")):
            answers = [AnswerRecord(question=q, reported=i % 7, reported_present=True, references=[1, 1, 1],
                                    vision="fig" in q, status="correct", reason="inside the interval")
                       for q in QUESTIONS]
            claim_task(store, task_id)
            finish_task(store, task_id, TaskRecord(outcome="correct", model="m", seconds=12.5, steps=9,
                                                   usage=Usage(input_tokens=1000, output_tokens=100, cost_usd=0.01,
                                                               calls=9), answers=answers,
                                                   details={"grader": "tolerant", "calls": 9}))


def time_opens(path: Path) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        open_store(path, create=False).close()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "results.sqlite"
        started = time.perf_counter()
        build(path, args.tasks)
        print(f"built {args.tasks} tasks in {time.perf_counter() - started:.0f} s; "
              f"file {path.stat().st_size / 1e6:.1f} MB")
        with_check = time_opens(path)
        checker = store_module.check_intact
        store_module.check_intact = lambda _path: None
        try:
            without = time_opens(path)
        finally:
            store_module.check_intact = checker
        print(f"open with quick_check {with_check * 1000:.0f} ms, without {without * 1000:.1f} ms: "
              f"{with_check / without:.0f}x, +{(with_check - without) * 1000:.0f} ms per command")


if __name__ == "__main__":
    main()
