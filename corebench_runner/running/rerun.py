"""`corebench run --resume RUN --retry OUTCOMES`: finished tasks with these outcomes run again.

Each task's earlier result (outcome, error, details, its artifacts folder moved aside) is kept in
its details; what earlier attempts spent stays in `usage` and counts in the new totals.
"""

from __future__ import annotations

import json
import shutil
from pathlib import PurePosixPath

from corebench_runner.errors import UserError
from corebench_runner.store.database import EARLIER_ATTEMPTS_KEY, Store, dumps
from corebench_runner.store.retries import finished_tasks_with_outcomes, reset_task_to_pending, task_review_count


def reset_for_retry(store: Store, run_id: str, outcomes: list[str]) -> int:
    """Make a run's done tasks with these outcomes pending again, keeping each earlier result in its
    details (EARLIER_ATTEMPTS_KEY). Returns how many tasks will run again."""
    with store.transaction() as conn:
        rows = finished_tasks_with_outcomes(conn, run_id, outcomes)
        for row in rows:
            if task_review_count(conn, row["id"]):
                raise UserError(f"--retry: task {row['capsule_id']} #{row['repeat']} of run {run_id} has reviews "
                                "that a new attempt would discard; leave its outcome out of --retry")
            details = json.loads(row["details_json"] or "{}")
            earlier = details.pop(EARLIER_ATTEMPTS_KEY, [])
            earlier.append({"outcome": row["outcome"], "error": row["error"], "attempts": row["attempts"],
                            "started": row["started"], "finished": row["finished"], "seconds": row["seconds"],
                            "cost_usd": row["cost_usd"], "details": details,
                            "transcript_path": _keep_artifacts(store, row, len(earlier) + 1)})
            reset_task_to_pending(conn, row["id"], dumps({EARLIER_ATTEMPTS_KEY: earlier}))
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
