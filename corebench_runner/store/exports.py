"""The SQL of export files (report/export.py's HAL upload): people's verdicts on a run's first repeat, a
capsule's count of written and vision questions, and the usage rows of a run's first repeat."""

from __future__ import annotations

import sqlite3

from corebench_runner.store.database import Store


def first_repeat_verdicts(store: Store, run_id: str, sources: tuple[str, ...]) -> list[sqlite3.Row]:
    """Every review row from `sources` on repeat 0 of the run, oldest first: capsule_id, question,
    old_status, new_status, reviewer, created, reason, source."""
    return store.query(
        "SELECT t.capsule_id, a.question, r.old_status, r.new_status, r.reviewer, r.created, r.reason, r.source "
        "FROM reviews r JOIN answers a ON a.id = r.answer_id JOIN tasks t ON t.id = a.task_id "
        f"WHERE t.run_id = ? AND t.repeat = 0 AND r.source IN ({', '.join('?' * len(sources))}) "
        "ORDER BY r.id", (run_id, *sources))


def question_counts(store: Store, capsule_id: str) -> tuple[int, int]:
    """(written, vision) questions of a capsule, from its latest graded task in the store; (0, 0) if none."""
    row = store.conn.execute(
        "SELECT SUM(vision = 0), SUM(vision = 1) FROM answers WHERE task_id = ("
        "SELECT a.task_id FROM answers a JOIN tasks t ON t.id = a.task_id WHERE t.capsule_id = ? "
        "ORDER BY a.task_id DESC LIMIT 1)", (capsule_id,)).fetchone()
    return (row[0] or 0, row[1] or 0)


def first_repeat_usage(store: Store, run_id: str) -> list[sqlite3.Row]:
    """Every usage row (one per model call) of repeat 0 of the run, with its task's capsule_id, in order."""
    return store.query(
        "SELECT u.*, t.capsule_id FROM usage u JOIN tasks t ON t.id = u.task_id "
        "WHERE t.run_id = ? AND t.repeat = 0 ORDER BY u.id", (run_id,))
