"""The results store: one SQLite file, schema by named migrations (schema.py), every write a
transaction.

Tables: runs, tasks (one row per capsule x repeat), answers (one row per question of a
task, holding the automatic verdict), reviews (human verdicts; append-only audit trail),
usage (one row per model call). Transcripts and produced files live in an artifacts
folder beside the database, referenced from task rows by relative path.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import platformdirs

from corebench_runner.errors import UserError
from corebench_runner.records import TOKEN_FIELDS, Usage
from corebench_runner.store.health import check_intact, no_leftovers, store_failure
from corebench_runner.store.schema import MIGRATIONS, migrate  # noqa: F401 (MIGRATIONS: the schema's history, for tests)

STORE_ENV = "COREBENCH_STORE"


def default_store_path() -> Path:
    import os

    if os.environ.get(STORE_ENV):
        return Path(os.environ[STORE_ENV]).expanduser()
    return Path(platformdirs.user_data_dir("corebench-runner")) / "results.sqlite"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Store:
    """An open results store. Use `open_store(path)`; close() when done (or `with`)."""

    path: Path
    conn: sqlite3.Connection

    @property
    def artifacts_dir(self) -> Path:
        return self.path.parent / f"{self.path.stem}-artifacts"

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; rolled back on any error, so a killed write leaves nothing half-done."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    # ------------------------------------------------------------- verdicts

    def latest_status(self, answer_id: int) -> str:
        """The standing verdict of an answer: the latest review's, else the automatic one."""
        row = self.conn.execute(
            "SELECT COALESCE((SELECT new_status FROM reviews WHERE answer_id = a.id ORDER BY id DESC LIMIT 1), a.status) "
            "FROM answers a WHERE a.id = ?", (answer_id,)).fetchone()
        if row is None:
            raise UserError(f"{self.path}: no answer with id {answer_id}")
        return row[0]


# SQL for the standing (verified) status of every answer; reused by review, report and show.
VERIFIED_STATUS_SQL = (
    "COALESCE((SELECT r.new_status FROM reviews r WHERE r.answer_id = answers.id ORDER BY r.id DESC LIMIT 1), "
    "answers.status)"
)


def open_store(path: Path | str | None = None, create: bool = True) -> Store:
    """Open (and create or upgrade) a store. A corrupt or too-new file gives one clear UserError."""
    path = Path(path).expanduser() if path else default_store_path()
    if not path.exists():
        if not create:
            raise UserError(f"{path}: no results store here; run `corebench run` first or pass --store")
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        check_intact(path)
    conn = None
    try:
        with no_leftovers(path):
            try:
                conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute("PRAGMA synchronous=NORMAL")
                migrate(conn, path, now_iso())
            except BaseException:
                if conn is not None:
                    conn.close()  # before no_leftovers looks at the -wal and -shm it made
                raise
    except sqlite3.DatabaseError as exc:
        raise UserError(store_failure(path, exc)) from None
    _opened.append(path)
    return Store(path=path, conn=conn)


def remove_if_unused(path: Path) -> None:
    """Delete a store a command created when it holds no run (its WAL files and empty artifacts folder too)."""
    try:
        with closing(sqlite3.connect(path)) as conn:
            if conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]:
                return
    except sqlite3.Error:
        return  # not ours to judge: leave it
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    artifacts = path.parent / f"{path.stem}-artifacts"
    if artifacts.is_dir() and not any(artifacts.iterdir()):
        artifacts.rmdir()


_opened: list[Path] = []  # so the CLI can name the store in an error it did not foresee


def last_opened() -> Path | None:
    return _opened[-1] if _opened else None


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


# ------------------------------------------------------------------ writes used by a run
# Every function below is one transaction: a run killed at any instant leaves each task
# either fully recorded (status 'done', its answers and usage) or not recorded at all.

TASK_DONE = "done"


@dataclass
class AnswerRecord:
    """One graded question of a task, as stored."""

    question: str
    reported: Any  # the agent's value; ignored when reported_present is False
    reported_present: bool
    references: list[Any]
    vision: bool
    status: str  # automatic verdict: correct | incorrect | disputed
    reason: str
    source: str | None = None  # where the value came from (diagnostics/provenance.py)
    source_evidence: dict[str, Any] | None = None
    reproduced: str | None = None  # yes | no | no_recipe | rerun_failed; None: not re-run


@dataclass
class TaskRecord:
    """Everything that ends a task, written in one transaction by finish_task."""

    outcome: str
    model: str = ""
    error: str | None = None
    seconds: float = 0.0
    steps: int = 0
    usage: Usage = field(default_factory=Usage)  # the task's total
    answers: list[AnswerRecord] | None = None
    transcript_path: str | None = None
    artifacts_dir: str | None = None
    details: dict[str, Any] | None = None
    usage_calls: list[dict[str, Any]] | None = None  # one dict of USAGE_FIELDS per model call, when known
    usage_live: bool = False  # this attempt's calls were written one by one as they happened
    rerun_seconds: float | None = None  # the re-run of reproduce.sh (run --verify), apart from the agent's time


USAGE_FIELDS = (*TOKEN_FIELDS, "cost_usd")
# In a task's details: results a `--retry` replaced, and what attempts of earlier processes spent.
EARLIER_ATTEMPTS_KEY = "earlier_attempts"
EARLIER_CLAIMS_USAGE_KEY = "killed_or_replaced_attempts_usage"


def create_run(store: Store, run_id: str, *, model: str, scaffold: str, scaffold_version: str, level: str,
               grader: str, engine_version: str, host: str, config: dict[str, Any],
               tasks: list[tuple[str, int, str]]) -> None:
    """Record a run and its whole plan (capsule_id, repeat, capsule_hash) before anything starts."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO runs (id, created, status, model, scaffold, scaffold_version, level, grader, "
            "engine_version, host, config_json) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, now_iso(), model, scaffold, scaffold_version, level, grader, engine_version, host,
             dumps(config)))
        conn.executemany(
            "INSERT INTO tasks (run_id, capsule_id, repeat, capsule_hash) VALUES (?, ?, ?, ?)",
            [(run_id, capsule_id, repeat, digest) for capsule_id, repeat, digest in tasks])


def get_run(store: Store, run_id: str) -> sqlite3.Row:
    row = store.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        # Allow an unambiguous prefix, as git does with commits.
        rows = store.query("SELECT * FROM runs WHERE id LIKE ? ORDER BY created DESC", (run_id + "%",))
        if len(rows) == 1:
            return rows[0]
        if rows:
            shown = ", ".join(row["id"] for row in rows[:5]) + (", ..." if len(rows) > 5 else "")
            raise UserError(f"run {run_id!r} is ambiguous in {store.path}: {len(rows)} runs start with it ({shown}); "
                            "give more characters")
        raise UserError(f"no run {run_id!r} in {store.path}; list runs with `corebench runs`")
    return row


def set_run_status(store: Store, run_id: str, status: str) -> None:
    finished = now_iso() if status != "running" else None
    with store.transaction() as conn:
        conn.execute("UPDATE runs SET status = ?, finished = ? WHERE id = ?", (status, finished, run_id))


def tasks_to_resume(store: Store, run_id: str) -> list[sqlite3.Row]:
    """Tasks of a run that have not finished (pending, or running when the process died)."""
    return store.query("SELECT * FROM tasks WHERE run_id = ? AND status != ? ORDER BY id", (run_id, TASK_DONE))


def claim_task(store: Store, task_id: int, owner: str | None = None) -> bool:
    """Mark a task as running (one more attempt). False when it is already done, or (given `owner`)
    when the run's lease has passed to another process."""
    with store.transaction() as conn:
        if owner is not None and not _owns_task_run(conn, task_id, owner):
            return False
        cur = conn.execute(
            "UPDATE tasks SET status = 'running', attempts = attempts + 1, started = ? "
            "WHERE id = ? AND status != ?", (now_iso(), task_id, TASK_DONE))
        return cur.rowcount == 1


def _owns_task_run(conn: sqlite3.Connection, task_id: int, owner: str) -> bool:
    row = conn.execute("SELECT r.owner FROM runs r JOIN tasks t ON t.run_id = r.id WHERE t.id = ?",
                       (task_id,)).fetchone()
    return row is not None and row[0] == owner


def finish_task(store: Store, task_id: int, record: TaskRecord,
                also: Callable[[sqlite3.Connection, int], object] | None = None, owner: str | None = None) -> bool:
    """Write a task's outcome, answers and usage in one transaction. False when it was already done,
    or (given `owner`) when the run's lease has passed to another process.

    `also(conn, task_id)` runs inside the same transaction, after those checks, for what only the
    recording process may write (artifacts, the diagnostics monitor's review rows), so a kill
    never separates them from the task and a process that lost the task writes none of them.
    """
    with store.transaction() as conn:
        row = conn.execute("SELECT status, attempts, details_json FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            raise UserError(f"{store.path}: no task with id {task_id}")
        if row["status"] == TASK_DONE:
            return False  # recorded by an earlier attempt: never duplicate
        if owner is not None and not _owns_task_run(conn, task_id, owner):
            return False
        details = dict(record.details or {})
        earlier = json.loads(row["details_json"] or "{}").get(EARLIER_ATTEMPTS_KEY)
        if earlier:  # results a `--retry` replaced
            details[EARLIER_ATTEMPTS_KEY] = earlier
        usage = _record_usage(conn, task_id, row["attempts"], record, details)
        conn.execute(
            "UPDATE tasks SET status = ?, outcome = ?, error = ?, finished = ?, seconds = ?, steps = ?, "
            "input_tokens = ?, output_tokens = ?, cache_creation_input_tokens = ?, cache_read_input_tokens = ?, "
            "cost_usd = ?, transcript_path = ?, artifacts_dir = ?, details_json = ?, rerun_seconds = ? WHERE id = ?",
            (TASK_DONE, record.outcome, record.error, now_iso(), record.seconds, record.steps,
             *(getattr(usage, name) for name in USAGE_FIELDS), record.transcript_path, record.artifacts_dir,
             dumps(details), record.rerun_seconds, task_id))
        conn.execute("DELETE FROM answers WHERE task_id = ?", (task_id,))
        conn.executemany(
            "INSERT INTO answers (task_id, question, reported_json, references_json, vision, status, reason, source, "
            "source_evidence_json, reproduced) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(task_id, a.question, dumps(a.reported) if a.reported_present else None, dumps(list(a.references)),
              int(a.vision), a.status, a.reason, a.source,
              dumps(a.source_evidence) if a.source_evidence is not None else None, a.reproduced)
             for a in record.answers or []])
        if also is not None:
            also(conn, task_id)
        return True


def record_rerun(store: Store, task_id: int, reproduced: dict[str, str], seconds: float | None,
                 rerun: dict[str, Any], also: Callable[[sqlite3.Connection, int], object] | None = None) -> None:
    """A later re-run of a finished task's recipe (`corebench verify RUN`): each answer's `reproduced`, the
    re-run's time and its details, and `also(conn, task_id)` (the suspect queue), in one transaction."""
    with store.transaction() as conn:
        row = conn.execute("SELECT details_json FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if row is None:
            raise UserError(f"{store.path}: no task with id {task_id}")
        details = json.loads(row["details_json"] or "{}")
        details["rerun"] = rerun
        conn.execute("UPDATE tasks SET rerun_seconds = ?, details_json = ? WHERE id = ?",
                     (seconds, dumps(details), task_id))
        conn.executemany("UPDATE answers SET reproduced = ? WHERE task_id = ? AND question = ? "
                         "AND reported_json IS NOT NULL",
                         [(verdict, task_id, question) for question, verdict in reproduced.items()])
        if also is not None:
            also(conn, task_id)


def _record_usage(conn: sqlite3.Connection, task_id: int, attempt: int, record: TaskRecord,
                  details: dict[str, Any]) -> Usage:
    """Write the usage rows this attempt still owes; return the task's totals, earlier attempts' included.

    Rows written live, one per call as it happened (usage_journal.py), stand for this attempt when
    the record says so (`usage_live`); otherwise they are replaced by the record's own rows. Rows of
    earlier attempts (a killed process, or results a `--retry` replaced) were billed too: they stay,
    count in the totals and are summed in the details.
    """
    if record.usage_live:
        calls: list[dict[str, Any]] = []
    else:
        conn.execute("DELETE FROM usage WHERE task_id = ? AND attempt = ? AND live = 1", (task_id, attempt))
        calls = list(record.usage_calls or [])
        total = record.usage
        if not calls and (total.calls or total.input_tokens or total.output_tokens):
            calls = [{name: getattr(total, name) for name in USAGE_FIELDS}]  # only the task's total is known
    conn.executemany(
        "INSERT INTO usage (task_id, model, input_tokens, output_tokens, cache_creation_input_tokens, "
        "cache_read_input_tokens, cost_usd, created, attempt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(task_id, record.model, *(call.get(name, 0) for name in USAGE_FIELDS[:-1]), call.get("cost_usd"),
          now_iso(), attempt) for call in calls])
    earlier = _sum_rows(conn.execute("SELECT * FROM usage WHERE task_id = ? AND attempt < ?", (task_id, attempt)))
    if not earlier.calls:
        return record.usage
    details[EARLIER_CLAIMS_USAGE_KEY] = {name: getattr(earlier, name) for name in (*USAGE_FIELDS, "calls")}
    total = replace(record.usage)
    total.add(earlier)
    return total


def _sum_rows(rows: Any) -> Usage:
    total = Usage()
    for row in rows:
        total.add(Usage(**{name: row[name] for name in USAGE_FIELDS}, calls=1))
    return total
