"""The SQL of the audit trail (`reviews`): one new row per verdict, never updated or deleted; the latest
row on an answer stands. Also regrade's writes: new automatic verdicts, the task outcomes they make and
the run's grader.

Writers take the connection of a transaction the caller holds (`Store.transaction()`), so a verdict is
checked against what stands and written in one transaction, and a regrade's rows land together.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from corebench_runner.records import outcome_from_verdicts
from corebench_runner.store.answers import where_all
from corebench_runner.store.database import Store
from corebench_runner.store.verification import GRADED_OUTCOMES


@dataclass(frozen=True)
class ReviewRecord:
    """One row of the audit trail."""

    id: int
    answer_id: int
    reviewer: str
    created: str
    old_status: str
    new_status: str
    reason: str
    source: str


def review_record(row: sqlite3.Row) -> ReviewRecord:
    return ReviewRecord(row["id"], row["answer_id"], row["reviewer"], row["created"], row["old_status"],
                        row["new_status"], row["reason"], row["source"])


def add_review(conn: sqlite3.Connection, answer_id: int, *, reviewer: str, created: str, old_status: str,
               new_status: str, reason: str, source: str) -> int:
    """Append one verdict inside the caller's transaction; returns its id."""
    cursor = conn.execute(
        "INSERT INTO reviews (answer_id, reviewer, created, old_status, new_status, reason, source) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)", (answer_id, reviewer, created, old_status, new_status, reason, source))
    return cursor.lastrowid


def latest_review_id(store: Store, answer_id: int) -> int:
    """The id of the verdict standing on an answer, 0 when no one has ruled."""
    row = store.conn.execute("SELECT MAX(id) FROM reviews WHERE answer_id = ?", (answer_id,)).fetchone()
    return row[0] or 0


def reviews_of(store: Store, answer_id: int) -> list[ReviewRecord]:
    """Every verdict on one answer, oldest first."""
    return [review_record(row) for row in
            store.query("SELECT * FROM reviews WHERE answer_id = ? ORDER BY id", (answer_id,))]


def review_log_rows(store: Store, *, run_id: str | None = None, capsule_id: str | None = None,
                    answer_id: int | None = None) -> list[sqlite3.Row]:
    """The audit trail, oldest first: each review row with its answer's run_id, capsule_id, repeat and question."""
    where, params = where_all([
        ("tasks.run_id = ?", run_id),
        ("tasks.capsule_id = ?", capsule_id),
        ("reviews.answer_id = ?", answer_id),
    ])
    return store.query(
        "SELECT reviews.*, tasks.run_id, tasks.capsule_id, tasks.repeat, answers.question FROM reviews "
        "JOIN answers ON answers.id = reviews.answer_id JOIN tasks ON tasks.id = answers.task_id"
        + where + " ORDER BY reviews.id", tuple(params))


def latest_status_from(conn: sqlite3.Connection, answer_id: int, sources: tuple[str, ...]) -> str | None:
    """The status the latest verdict from one of `sources` gave the answer; None when they never ruled."""
    row = conn.execute(
        f"SELECT new_status FROM reviews WHERE answer_id = ? AND source IN ({', '.join('?' * len(sources))}) "
        "ORDER BY id DESC LIMIT 1", (answer_id, *sources)).fetchone()
    return row[0] if row else None


# ----------------------------------------------------------------------------- regrade's writes

def set_automatic_verdict(conn: sqlite3.Connection, answer_id: int, status: str, reason: str) -> None:
    conn.execute("UPDATE answers SET status = ?, reason = ? WHERE id = ?", (status, reason, answer_id))


def refresh_graded_outcomes(conn: sqlite3.Connection, run_id: str) -> None:
    """Graded tasks take the outcome of their new automatic verdicts (the run engine's rule); failures
    (timeout, ...) stay as they were."""
    graded = ", ".join(f"'{status}'" for status in GRADED_OUTCOMES)
    tasks = conn.execute(f"SELECT id FROM tasks WHERE run_id = ? AND outcome IN ({graded})", (run_id,)).fetchall()
    for (task_id,) in tasks:
        statuses = [row[0] for row in conn.execute("SELECT status FROM answers WHERE task_id = ?", (task_id,))]
        if statuses:
            conn.execute("UPDATE tasks SET outcome = ? WHERE id = ?", (outcome_from_verdicts(statuses).value, task_id))


def set_run_grader(conn: sqlite3.Connection, run_id: str, grader: str) -> None:
    conn.execute("UPDATE runs SET grader = ? WHERE id = ?", (grader, run_id))
