"""Trying again: after an infrastructure failure within a task, and for whole tasks with `--retry`.

Within a task (task_runner.execute_task), a failed attempt waits before the next one, longer
each time, and while the Docker engine does not answer, every task waits for it instead of
failing at once: one thread asks the engine at a time, the others wait for its answer, so an
outage costs a pause, not the rest of the run (and no storm of requests when it comes back).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import threading
import time
from pathlib import PurePosixPath

from corebench_runner.errors import UserError
from corebench_runner.store import EARLIER_ATTEMPTS_KEY, TASK_DONE, Store, dumps

# Seconds before the n-th retry of a task: 2, 4, 8, ... capped, with jitter so tasks spread out.
BACKOFF_FIRST, BACKOFF_CAP = 2.0, 30.0
# How long tasks wait for an engine that stopped answering before they give up (infra_error).
ENGINE_WAIT_ENV = "COREBENCH_ENGINE_WAIT"
ENGINE_WAIT_SECONDS = 300.0


def backoff_seconds(retry_no: int) -> float:
    base = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** max(0, retry_no - 1))
    return base * random.uniform(0.75, 1.25)


def engine_wait_seconds() -> float:
    try:
        return float(os.environ.get(ENGINE_WAIT_ENV, ENGINE_WAIT_SECONDS))
    except ValueError:
        raise UserError(f"${ENGINE_WAIT_ENV} must be a number of seconds, not {os.environ[ENGINE_WAIT_ENV]!r}") from None


class EngineGate:
    """Waits until the Docker engine answers; one ping at a time whatever the number of tasks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answered_at = 0.0

    def wait(self, stop: threading.Event | None = None, limit: float | None = None) -> bool:
        """True once the engine answers; False after `limit` seconds, or when `stop` is set."""
        limit = engine_wait_seconds() if limit is None else limit
        deadline = time.monotonic() + limit
        pause = 0.5
        while True:
            asked = time.monotonic()
            with self._lock:  # the others wait here for this thread's answer
                if self._answered_at >= asked - 1.0 or _engine_answers():
                    self._answered_at = max(self._answered_at, time.monotonic())
                    return True
            if (stop is not None and stop.is_set()) or time.monotonic() + pause > deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def _engine_answers() -> bool:
    from corebench_runner.sandbox.engine import docker_client

    try:
        docker_client().ping()
        return True
    except Exception:  # any failure to answer means: not yet
        return False


ENGINE = EngineGate()


def remove_attempt_containers(run_id: str, task_id: int) -> None:
    """Containers a failed attempt of this task left (its close() may have met an engine that was down)."""
    from corebench_runner.sandbox.engine import RUN_LABEL, TASK_LABEL, docker_client

    try:
        for container in docker_client().containers.list(
                all=True, ignore_removed=True, filters={"label": [f"{RUN_LABEL}={run_id}", f"{TASK_LABEL}={task_id}"]}):
            container.remove(force=True, v=True)
    except Exception:  # best effort: `corebench clean` and --resume remove what is left
        pass


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
