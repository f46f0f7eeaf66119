"""Phase timestamps of each task, for benchmarks/task_latency.py; off unless $COREBENCH_TRACE names a file.

Each phase a task goes through (sandbox create, agent, grading, recording, cleanup ...) is appended
to that file as one JSON line {"task", "phase", "start", "end"}. Times are time.monotonic(), which on
Linux is one clock for every process of the machine, so a benchmark can set them beside its own.
The store's columns are whole seconds; these are not.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

TRACE_ENV = "COREBENCH_TRACE"
_write_lock = threading.Lock()


def enabled() -> bool:
    return bool(os.environ.get(TRACE_ENV))


def mark(task_id: int | str, name: str, start: float, end: float | None = None) -> None:
    """Record that task `task_id` spent start..end (monotonic seconds) in phase `name`."""
    path = os.environ.get(TRACE_ENV)
    if not path:
        return
    line = json.dumps({"task": task_id, "phase": name, "start": start, "end": time.monotonic() if end is None else end})
    with _write_lock, open(path, "a", encoding="utf-8") as out:
        out.write(line + "\n")


@contextmanager
def phase(task_id: int | str, name: str) -> Iterator[None]:
    """Time the block as phase `name` of the task (also when it raises)."""
    if not enabled():
        yield
        return
    start = time.monotonic()
    try:
        yield
    finally:
        mark(task_id, name, start)
