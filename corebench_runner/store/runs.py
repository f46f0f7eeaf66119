"""Plain reads of a run's records that commands share: its config, its capsules, its finished tasks, the
runs that ran a capsule. (Summaries and accuracy are results.py's.)"""

from __future__ import annotations

import sqlite3

from corebench_runner.store.database import TASK_DONE, Store


def run_config_json(store: Store, run_id: str) -> str | None:
    """A run's config as stored (JSON text); None when there is no such run (an exact id)."""
    row = store.conn.execute("SELECT config_json FROM runs WHERE id = ?", (run_id,)).fetchone()
    return row[0] if row else None


def run_configs_json(store: Store, run_ids: set[str] | list[str]) -> dict[str, str | None]:
    """{run id: its config as stored} for the runs among `run_ids` the store holds."""
    ids = list(run_ids)
    if not ids:
        return {}
    return {row[0]: row[1] for row in store.query(
        f"SELECT id, config_json FROM runs WHERE id IN ({', '.join('?' * len(ids))})", tuple(ids))}


def run_capsule_ids(store: Store, run_id: str) -> list[str]:
    """The capsules a run planned (an exact run id), each once."""
    return [row[0] for row in store.query("SELECT DISTINCT capsule_id FROM tasks WHERE run_id = ?", (run_id,))]


def runs_of_capsule(store: Store, capsule_id: str) -> list[str]:
    """The runs that planned the capsule, oldest first, each once."""
    rows = store.query("SELECT tasks.run_id FROM tasks JOIN runs ON runs.id = tasks.run_id WHERE tasks.capsule_id = ? "
                       "ORDER BY runs.created", (capsule_id,))
    return list(dict.fromkeys(row[0] for row in rows))


def unfinished_capsule_hashes(store: Store, run_id: str) -> list[sqlite3.Row]:
    """(capsule_id, capsule_hash) of the run's tasks that have not finished, each pair once."""
    return store.query("SELECT DISTINCT capsule_id, capsule_hash FROM tasks WHERE run_id = ? AND status != ?",
                       (run_id, TASK_DONE))


def finished_tasks(store: Store, run_id: str) -> list[sqlite3.Row]:
    """Every finished task of a run (an exact run id), whole rows, by capsule and repeat."""
    return store.query("SELECT * FROM tasks WHERE run_id = ? AND status = ? ORDER BY capsule_id, repeat",
                       (run_id, TASK_DONE))
