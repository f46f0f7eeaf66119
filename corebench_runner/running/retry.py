"""Trying again after an infrastructure failure within a task (running/task.py's execute_task).

A failed attempt waits before the next one, longer each time (while the sandbox's engine does not
answer, tasks wait for it: see the provider's `outage`). Whole tasks run again with `--retry`
(rerun.py).
"""

from __future__ import annotations

import random

# Seconds before the n-th retry of a task: 2, 4, 8, ... capped, with jitter so tasks spread out.
BACKOFF_FIRST, BACKOFF_CAP = 2.0, 30.0


def backoff_seconds(retry_no: int) -> float:
    base = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** max(0, retry_no - 1))
    return base * random.uniform(0.75, 1.25)
