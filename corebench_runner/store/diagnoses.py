"""The SQL behind diagnostics/: a task's details (where its diagnosis is kept), the answers a monitor or the
provenance check has not queued yet, and a model-written explanation saved with what it cost.

The queueing itself (which answers, with what reason) is diagnostics/stored.py's; it writes its audit rows
through store/verdicts.py inside the run engine's transaction.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from corebench_runner.records import Usage
from corebench_runner.store.database import VERIFIED_STATUS_SQL, Store, now_iso


def task_details_json(conn: sqlite3.Connection, task_id: int) -> str | None:
    """A task's details as stored (JSON text); None when there is no such task or it has none."""
    row = conn.execute("SELECT details_json FROM tasks WHERE id = ?", (task_id,)).fetchone()
    return row[0] if row else None


def answer_question_and_details(store: Store, answer_id: int) -> sqlite3.Row | None:
    """An answer's question with its task's details_json (its diagnosis and flags)."""
    return store.conn.execute("SELECT answers.question, tasks.details_json FROM answers JOIN tasks ON "
                              "tasks.id = answers.task_id WHERE answers.id = ?", (answer_id,)).fetchone()


def answers_not_queued_by(conn: sqlite3.Connection, task_id: int, source: str) -> list[sqlite3.Row]:
    """A task's answers that no review row from `source` touches yet (each is queued once, even if re-run):
    id, question, status, source, source_evidence_json, reproduced, the run's level and the standing status."""
    return conn.execute(
        f"SELECT answers.id, answers.question, answers.status, answers.source, answers.source_evidence_json, "
        f"answers.reproduced, runs.level, {VERIFIED_STATUS_SQL} AS standing FROM answers "
        "JOIN tasks ON tasks.id = answers.task_id JOIN runs ON runs.id = tasks.run_id WHERE answers.task_id = ? "
        "AND NOT EXISTS (SELECT 1 FROM reviews m WHERE m.answer_id = answers.id AND m.source = ?) ORDER BY answers.id",
        (task_id, source)).fetchall()


def record_explanation(store: Store, task_id: int, key: str, value: Any, model: str, usage: Usage) -> None:
    """Keep a model's explanation under `key` in a task's details and the call's usage in `explain_calls`
    (never the agent's `usage`: the task's cost and HAL's totals are the agent's own), in one transaction."""
    with store.transaction() as conn:
        details = json.loads(task_details_json(conn, task_id) or "{}")
        details[key] = value
        conn.execute("UPDATE tasks SET details_json = ? WHERE id = ?", (json.dumps(details, default=str), task_id))
        conn.execute(
            "INSERT INTO explain_calls (task_id, model, input_tokens, output_tokens, cache_creation_input_tokens, "
            "cache_read_input_tokens, cost_usd, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (task_id, model, usage.input_tokens, usage.output_tokens, usage.cache_creation_input_tokens,
             usage.cache_read_input_tokens, usage.cost_usd, now_iso()))
