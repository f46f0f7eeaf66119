"""Usage written per model call, as it happens, so a process killed mid-task loses no record of spend.

The run's driver opens one journal for the run and alone writes through it: a `usage` row per
call, tied to the task and to the attempt that made it (tasks.attempts at that moment, `live = 1`).
Workers reach it only through their services (running/services.py): a worker thread of the driver
calls `record` as each call returns; a worker in another process (Ray) sends each call back and
the driver records it as it arrives. store.finish_task then keeps those rows instead of writing
the attempt's usage again.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from corebench_runner.records import TOKEN_FIELDS, Usage
from corebench_runner.store.database import now_iso


class UsageJournal:
    def __init__(self, store_path: Path) -> None:
        # Its own connection, shared by worker threads under a lock; each row commits on its own.
        self._conn = sqlite3.connect(store_path, timeout=30, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()

    def record(self, task_id: int, model: str, usage: Usage) -> bool:
        """Write one call's usage; False when the store would not take it (the attempt then keeps it)."""
        try:
            with self._lock:
                self._conn.execute(
                    "INSERT INTO usage (task_id, model, input_tokens, output_tokens, cache_creation_input_tokens, "
                    "cache_read_input_tokens, cost_usd, created, attempt, live) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, (SELECT attempts FROM tasks WHERE id = ?), 1)",
                    (task_id, model, *(getattr(usage, name) for name in TOKEN_FIELDS), usage.cost_usd, now_iso(),
                     task_id))
            return True
        except sqlite3.Error:
            return False

    def close(self) -> None:
        with self._lock:
            self._conn.close()

