"""`corebench run --resume RUN --retry OUTCOMES`: finished tasks with these outcomes run again.

Each task's earlier result (outcome, error, details, its artifacts folder moved aside) is kept in
its details; what earlier attempts spent stays in `usage` and counts in the new totals.
"""

from __future__ import annotations

import json
import shutil
from pathlib import PurePosixPath

from corebench_runner.errors import UserError
from corebench_runner.store.database import EARLIER_ATTEMPTS_KEY, TASK_DONE, Store, dumps


def reset_for_retry(store: Store, run_id: str, outcomes: list[str]) -> int:
    """Make a run's done tasks with these outcomes pending again, keeping each earlier result in its
    details (EARLIER_ATTEMPTS_KEY). Returns how many tasks will run again."""
    with store.transaction() as conn:
        rows = conn.execute(
            f"SELECT * FROM tasks WHERE run_id = ? AND status = ? AND outcome IN ({','.join('?' * len(outcomes))})",
            (run_id, TASK_DONE, *outcomes)).fetchall()
        for row in rows:
            reviewed = conn.execute("SELECT COUNT(*) FROM reviews r JOIN answers a ON a.id = r.answer_id "
                                    "WHERE a.task_id = ?", (row["id"],)).fetchone()[0]
            if reviewed:
                raise UserError(f"--retry: task {row['capsule_id']} #{row['repeat']} of run {run_id} has reviews "
                                "that a new attempt would discard; leave its outcome out of --retry")
            details = json.loads(row["details_json"] or "{}")
            earlier = details.pop(EARLIER_ATTEMPTS_KEY, [])
            earlier.append({"outcome": row["outcome"], "error": row["error"], "attempts": row["attempts"],
                            "started": row["started"], "finished": row["finished"], "seconds": row["seconds"],
                            "cost_usd": row["cost_usd"], "details": details,
                            "transcript_path": _keep_artifacts(store, row, len(earlier) + 1)})
            conn.execute("DELETE FROM answers WHERE task_id = ?", (row["id"],))
            conn.execute("UPDATE tasks SET status = 'pending', outcome = NULL, error = NULL, finished = NULL, "
                         "details_json = ? WHERE id = ?", (dumps({EARLIER_ATTEMPTS_KEY: earlier}), row["id"]))
        return len(rows)


def _keep_artifacts(store: Store, row, number: int) -> str | None:
    """Move a replaced result's artifacts aside (the new attempt writes the task's own folder)."""
    if not row["transcript_path"]:
        return None
    old = PurePosixPath(row["transcript_path"]).parent
    kept = old.with_name(f"{old.name}.earlier-{number}")
    if (store.artifacts_dir / old).is_dir():
        shutil.rmtree(store.artifacts_dir / kept, ignore_errors=True)
        (store.artifacts_dir / old).rename(store.artifacts_dir / kept)
    return (kept / PurePosixPath(row["transcript_path"]).name).as_posix()
