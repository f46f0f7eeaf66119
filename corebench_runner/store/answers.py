"""The SQL that finds answers for review: the queue's rows with their task, run and standing verdict,
an answer across stores by its identity, and the names `--model` and `--capsule` are checked against.

Rows come back as sqlite3.Row; review/verdicts.py turns them into the views a reviewer sees.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from corebench_runner.store.database import VERIFIED_STATUS_SQL, Store

_ANSWER_SELECT = f"""
    SELECT answers.id AS answer_id, tasks.run_id, tasks.capsule_id, tasks.repeat, answers.question,
           answers.reported_json, answers.references_json, answers.vision, answers.status AS auto_status,
           answers.reason AS auto_reason, {VERIFIED_STATUS_SQL} AS standing, tasks.transcript_path,
           runs.model, runs.scaffold, runs.level, runs.grader,
           answers.source, answers.source_evidence_json, answers.reproduced
    FROM answers JOIN tasks ON tasks.id = answers.task_id JOIN runs ON runs.id = tasks.run_id
"""


def where_all(conditions: list[tuple[str, Any]]) -> tuple[str, list[Any]]:
    """A WHERE clause from (sql, value) pairs, leaving out those whose value is None."""
    used = [(sql, value) for sql, value in conditions if value is not None]
    clause = " WHERE " + " AND ".join(sql for sql, _ in used) if used else ""
    return clause, [value for _, value in used]


def answer_rows(store: Store, *, run_id: str | None = None, models: list[str] | None = None,
                capsule_id: str | None = None, standing: str | None = None,
                answer_ids: list[int] | None = None) -> list[sqlite3.Row]:
    """Answers matching every filter given (an exact run id, stored model specs, ...), in a stable order
    (run, capsule, repeat, answer)."""
    where, params = where_all([
        ("tasks.run_id = ?", run_id),
        ("runs.model IN (SELECT value FROM json_each(?))", json.dumps(models) if models is not None else None),
        ("tasks.capsule_id = ?", capsule_id),
        (f"{VERIFIED_STATUS_SQL} = ?", standing),
    ])
    ids = answer_ids or []
    if ids:
        where += (" AND " if where else " WHERE ") + f"answers.id IN ({', '.join('?' * len(ids))})"
        params.extend(ids)
    sql = _ANSWER_SELECT + where + " ORDER BY runs.created, tasks.run_id, tasks.capsule_id, tasks.repeat, answers.id"
    return store.query(sql, tuple(params))


def answer_id_for(store: Store, run_id: str, capsule_id: str, repeat: int, question: str) -> int | None:
    """The local id of an answer known by its identity across stores."""
    row = store.conn.execute(
        "SELECT answers.id FROM answers JOIN tasks ON tasks.id = answers.task_id "
        "WHERE tasks.run_id = ? AND tasks.capsule_id = ? AND tasks.repeat = ? AND answers.question = ?",
        (run_id, capsule_id, repeat, question)).fetchone()
    return row[0] if row else None


def answer_exists(store: Store, answer_id: int) -> bool:
    return store.conn.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is not None


def task_of_answer(store: Store, answer_id: int) -> sqlite3.Row | None:
    """The task an answer belongs to: its id, transcript_path and artifacts_dir."""
    return store.conn.execute(
        "SELECT tasks.id, tasks.transcript_path, tasks.artifacts_dir FROM answers JOIN tasks "
        "ON tasks.id = answers.task_id WHERE answers.id = ?", (answer_id,)).fetchone()


def stored_models(store: Store) -> list[str]:
    """Every model spec the store's runs used, sorted."""
    return [row[0] for row in store.query("SELECT DISTINCT model FROM runs ORDER BY model")]


def holds_capsule(store: Store, capsule_id: str) -> bool:
    """Whether the store holds any task of the capsule."""
    return store.conn.execute("SELECT 1 FROM tasks WHERE capsule_id = ? LIMIT 1", (capsule_id,)).fetchone() is not None


def stored_capsules(store: Store) -> list[str]:
    """Every capsule the store holds a task of, sorted."""
    return [row[0] for row in store.query("SELECT DISTINCT capsule_id FROM tasks ORDER BY capsule_id")]
