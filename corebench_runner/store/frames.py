"""The store's tables as pandas frames, for the report (report/data.py, report/reviews.py): runs, tasks,
answers with their standing verdict, and the audit trail. The report does all arithmetic on them."""

from __future__ import annotations

import pandas as pd

from corebench_runner.store.database import VERIFIED_STATUS_SQL, Store


def runs_frame(store: Store) -> pd.DataFrame:
    """Every run, newest first."""
    return pd.read_sql_query("SELECT * FROM runs ORDER BY created DESC, id", store.conn)


def tasks_frame(store: Store) -> pd.DataFrame:
    """Every task with its outcome, time, tokens, cost and transcript, by run, capsule and repeat."""
    return pd.read_sql_query(
        "SELECT id, run_id, capsule_id, repeat, status, outcome, error, started, finished, seconds, steps, "
        "input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens, cost_usd, "
        "transcript_path FROM tasks ORDER BY run_id, capsule_id, repeat", store.conn)


def answers_frame(store: Store) -> pd.DataFrame:
    """Every answer with its automatic verdict, its standing one (`verified_status`) and how many reviews it had."""
    return pd.read_sql_query(
        f"SELECT id, task_id, question, reported_json, references_json, vision, status, reason, "
        f"source, source_evidence_json, reproduced, confidence, "  # its origin, its re-run, the agent's confidence
        f"{VERIFIED_STATUS_SQL} AS verified_status, "
        "(SELECT COUNT(*) FROM reviews r WHERE r.answer_id = answers.id) AS reviews "
        "FROM answers ORDER BY task_id, id", store.conn)


def standing_reviews_frame(store: Store) -> pd.DataFrame:
    """The standing (latest) review of each reviewed answer: answer_id, reviewer, reviewed_at, review_reason."""
    return pd.read_sql_query(
        "SELECT r.answer_id, r.reviewer, r.created AS reviewed_at, r.reason AS review_reason FROM reviews r "
        "WHERE r.id = (SELECT MAX(r2.id) FROM reviews r2 WHERE r2.answer_id = r.answer_id)", store.conn)


def reviews_frame(store: Store) -> pd.DataFrame:
    """Every review row, newest first, with the answer, task and run it settles and whether it still stands
    (`standing`, 0 or 1)."""
    return pd.read_sql_query(
        "SELECT r.id, r.answer_id, r.reviewer, r.created, r.old_status, r.new_status, r.reason, r.source, "
        "a.question, a.reported_json, a.status AS automatic, t.id AS task_id, t.capsule_id, t.repeat, "
        "t.run_id, runs.model, runs.scaffold, runs.level, "
        "r.id = (SELECT MAX(r2.id) FROM reviews r2 WHERE r2.answer_id = r.answer_id) AS standing "
        "FROM reviews r JOIN answers a ON a.id = r.answer_id JOIN tasks t ON t.id = a.task_id "
        "JOIN runs ON runs.id = t.run_id ORDER BY r.created DESC, r.id DESC", store.conn)
