"""Who settled which answer, when and why: every verdict in the store, for run pages and the review log."""

from __future__ import annotations

from typing import Any

import pandas as pd

from corebench_runner.models.scripted_sessions import display_name
from corebench_runner.report.data import records_of, slug
from corebench_runner.store.database import Store


def verdicts(store: Store) -> pd.DataFrame:
    """Every review row, newest first, with the answer, task and run it settles and whether it still stands."""
    frame = pd.read_sql_query(
        "SELECT r.id, r.answer_id, r.reviewer, r.created, r.old_status, r.new_status, r.reason, r.source, "
        "a.question, a.reported_json, a.status AS automatic, t.id AS task_id, t.capsule_id, t.repeat, "
        "t.run_id, runs.model, runs.scaffold, runs.level, "
        "r.id = (SELECT MAX(r2.id) FROM reviews r2 WHERE r2.answer_id = r.answer_id) AS standing "
        "FROM reviews r JOIN answers a ON a.id = r.answer_id JOIN tasks t ON t.id = a.task_id "
        "JOIN runs ON runs.id = t.run_id ORDER BY r.created DESC, r.id DESC", store.conn)
    frame["standing"] = frame["standing"].astype(bool)
    frame["model"] = frame["model"].map(display_name)  # by name, never a scripted session's local path
    frame["run_slug"] = frame["run_id"].map(slug)
    frame["when"] = pd.to_datetime(frame["created"], utc=True, format="ISO8601").dt.strftime("%Y-%m-%d %H:%M UTC")
    return frame


def by_run(frame: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Verdicts grouped by run id, oldest first (the order they were given in)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in reversed(records_of(frame)):
        grouped.setdefault(record["run_id"], []).append(record)
    return grouped


def by_answer(frame: pd.DataFrame) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    for record in reversed(records_of(frame)):
        grouped.setdefault(record["answer_id"], []).append(record)
    return grouped
