"""The SQL of `corebench run --resume RUN --retry OUTCOMES` (running/rerun.py decides, and keeps each earlier
result in its task's details): the finished tasks to run again, whether people reviewed a task, and a task
put back to pending. Each takes the connection of the caller's transaction, so a retry resets every task
or none."""

from __future__ import annotations

import sqlite3

from corebench_runner.store.database import TASK_DONE


def finished_tasks_with_outcomes(conn: sqlite3.Connection, run_id: str, outcomes: list[str]) -> list[sqlite3.Row]:
    """A run's finished tasks that ended with one of `outcomes`, whole rows."""
    return conn.execute(
        f"SELECT * FROM tasks WHERE run_id = ? AND status = ? AND outcome IN ({','.join('?' * len(outcomes))})",
        (run_id, TASK_DONE, *outcomes)).fetchall()


def task_review_count(conn: sqlite3.Connection, task_id: int) -> int:
    """How many verdicts (people's or machines') the task's answers have."""
    return conn.execute("SELECT COUNT(*) FROM reviews r JOIN answers a ON a.id = r.answer_id WHERE a.task_id = ?",
                        (task_id,)).fetchone()[0]


def reset_task_to_pending(conn: sqlite3.Connection, task_id: int, details_json: str) -> None:
    """Drop a finished task's answers and outcome so it runs again; `details_json` replaces its details."""
    conn.execute("DELETE FROM answers WHERE task_id = ?", (task_id,))
    conn.execute("UPDATE tasks SET status = 'pending', outcome = NULL, error = NULL, finished = NULL, "
                 "details_json = ? WHERE id = ?", (details_json, task_id))
