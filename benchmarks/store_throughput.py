"""Store throughput: 10,000 task results written and read back, per task, vs plain INSERT loops.

Ours: create_run (the whole plan), then claim_task + finish_task per task (one transaction each,
holding the task row, 3 answers and a usage row), then run_summary and task_details.
Baselines on the same kind of file (WAL, synchronous=NORMAL):
  - plain INSERT loop, one commit per task (the same durability as ours: a kill loses nothing)
  - plain INSERT loop, one commit for everything (the floor; a kill loses every task)
and a plain SELECT of the same rows for reading.

    .venv/bin/python benchmarks/store_throughput.py [--tasks N]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

from corebench_runner.records import Usage
from corebench_runner.store.database import AnswerRecord, TaskRecord, claim_task, create_run, finish_task, open_store
from corebench_runner.store.results import run_summary, task_details

QUESTIONS = ("Report the test accuracy.", "Report the number of epochs.", "From the figure, report the best model.")


def record(i: int) -> TaskRecord:
    answers = [AnswerRecord(question=q, reported=i % 7, reported_present=True, references=[1, 1, 1], vision="fig" in q,
                            status="correct" if i % 3 else "incorrect", reason="inside the interval")
               for q in QUESTIONS]
    return TaskRecord(outcome="correct" if i % 3 else "incorrect", model="m", seconds=12.5, steps=9,
                      usage=Usage(input_tokens=1000, output_tokens=100, cost_usd=0.01, calls=9), answers=answers)


def ours(path: Path, n: int) -> tuple[float, float]:
    with open_store(path) as store:
        started = time.perf_counter()
        create_run(store, "bench", model="m", scaffold="s", scaffold_version="1", level="hard", grader="tolerant",
                   engine_version="0", host="h", config={}, tasks=[(f"capsule-{i}", 0, "hash") for i in range(n)])
        ids = [row[0] for row in store.query("SELECT id FROM tasks WHERE run_id = 'bench' ORDER BY id")]
        for i, task_id in enumerate(ids):
            claim_task(store, task_id)
            finish_task(store, task_id, record(i))
        write = time.perf_counter() - started
        started = time.perf_counter()
        summary = run_summary(store, "bench")
        details = task_details(store, "bench")
        read = time.perf_counter() - started
        assert summary.tasks_done == n and len(details) == n and sum(len(t.questions) for t in details) == 3 * n
    return write, read


def plain(path: Path, n: int, commit_each: bool) -> tuple[float, float]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, capsule_id TEXT, outcome TEXT, seconds REAL, cost REAL)")
    conn.execute("CREATE TABLE answers (task_id INTEGER, question TEXT, reported TEXT, status TEXT, reason TEXT)")
    started = time.perf_counter()
    if not commit_each:
        conn.execute("BEGIN")
    for i in range(n):
        if commit_each:
            conn.execute("BEGIN")
        cur = conn.execute("INSERT INTO tasks (capsule_id, outcome, seconds, cost) VALUES (?, ?, ?, ?)",
                           (f"capsule-{i}", "correct", 12.5, 0.01))
        for q in QUESTIONS:
            conn.execute("INSERT INTO answers VALUES (?, ?, ?, ?, ?)", (cur.lastrowid, q, str(i % 7), "correct", "ok"))
        if commit_each:
            conn.execute("COMMIT")
    if not commit_each:
        conn.execute("COMMIT")
    write = time.perf_counter() - started
    started = time.perf_counter()
    rows = conn.execute("SELECT * FROM tasks t JOIN answers a ON a.task_id = t.id").fetchall()
    read = time.perf_counter() - started
    assert len(rows) == 3 * n
    conn.close()
    return write, read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    args = parser.parse_args()
    n = args.tasks
    with tempfile.TemporaryDirectory() as tmp:
        our_write, our_read = ours(Path(tmp) / "ours.sqlite", n)
        each_write, each_read = plain(Path(tmp) / "each.sqlite", n, commit_each=True)
        bulk_write, _ = plain(Path(tmp) / "bulk.sqlite", n, commit_each=False)
    us = 1e6 / n
    print(f"{'tasks':>36}: {n}")
    print(f"{'store write (claim + finish)':>36}: {our_write * us:8.1f} us/task")
    print(f"{'plain INSERT, commit per task':>36}: {each_write * us:8.1f} us/task   "
          f"ours is {our_write / each_write:.2f}x")
    print(f"{'plain INSERT, one commit':>36}: {bulk_write * us:8.1f} us/task   ours is {our_write / bulk_write:.2f}x")
    print(f"{'store read (summary + details)':>36}: {our_read * us:8.1f} us/task")
    print(f"{'plain SELECT join':>36}: {each_read * us:8.1f} us/task   ours is {our_read / each_read:.2f}x")


if __name__ == "__main__":
    main()
