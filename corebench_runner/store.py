"""The results store: one SQLite file, schema by named migrations, every write a transaction.

Tables: runs, tasks (one row per capsule x repeat), answers (one row per question of a
task, holding the automatic verdict), reviews (human verdicts; append-only audit trail),
usage (one row per model call). Transcripts and produced files live in an artifacts
folder beside the database, referenced from task rows by relative path.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import platformdirs

from corebench_runner.errors import UserError

STORE_ENV = "COREBENCH_STORE"


def default_store_path() -> Path:
    import os

    if os.environ.get(STORE_ENV):
        return Path(os.environ[STORE_ENV]).expanduser()
    return Path(platformdirs.user_data_dir("corebench-runner")) / "results.sqlite"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# Named migrations, applied in order and recorded in the `migrations` table.
# Never edit one that has shipped: add a new one.
MIGRATIONS: list[tuple[str, str]] = [
    ("0001_initial", """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            created TEXT NOT NULL,
            finished TEXT,
            status TEXT NOT NULL DEFAULT 'running',  -- running | finished | interrupted | failed
            model TEXT NOT NULL,
            scaffold TEXT NOT NULL,
            scaffold_version TEXT NOT NULL DEFAULT '',
            level TEXT NOT NULL,
            grader TEXT NOT NULL,
            engine_version TEXT NOT NULL DEFAULT '',
            host TEXT NOT NULL DEFAULT '',
            config_json TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE tasks (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs(id),
            capsule_id TEXT NOT NULL,
            repeat INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'pending',  -- pending | running | done
            outcome TEXT,                            -- records.Outcome value once done
            error TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            started TEXT,
            finished TEXT,
            seconds REAL,
            steps INTEGER,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,
            cache_read_input_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL,                           -- NULL when the price is unknown
            capsule_hash TEXT NOT NULL DEFAULT '',
            transcript_path TEXT,                    -- relative to the artifacts folder
            artifacts_dir TEXT,                      -- relative to the artifacts folder
            details_json TEXT NOT NULL DEFAULT '{}', -- stages, failure reason, flags (diagnostics)
            UNIQUE (run_id, capsule_id, repeat)
        );
        CREATE TABLE answers (
            id INTEGER PRIMARY KEY,
            task_id INTEGER NOT NULL REFERENCES tasks(id),
            question TEXT NOT NULL,
            reported_json TEXT,                      -- NULL when the question was not reported
            references_json TEXT NOT NULL,           -- list of reference run values
            vision INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL,                    -- automatic verdict: correct | incorrect | disputed
            reason TEXT NOT NULL DEFAULT '',
            UNIQUE (task_id, question)
        );
        CREATE TABLE reviews (
            id INTEGER PRIMARY KEY,
            answer_id INTEGER NOT NULL REFERENCES answers(id),
            reviewer TEXT NOT NULL,
            created TEXT NOT NULL,
            old_status TEXT NOT NULL,
            new_status TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT 'cli'       -- cli | import | regrade
        );
        CREATE TABLE usage (
            id INTEGER PRIMARY KEY,
            task_id INTEGER NOT NULL REFERENCES tasks(id),
            model TEXT NOT NULL,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,
            cache_read_input_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL,
            created TEXT NOT NULL
        );
        CREATE INDEX tasks_by_run ON tasks(run_id, status);
        CREATE INDEX answers_by_task ON answers(task_id);
        CREATE INDEX reviews_by_answer ON reviews(answer_id, id);
    """),
]
KNOWN_MIGRATIONS = {name for name, _ in MIGRATIONS}


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
    try:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        _migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        raise UserError(f"{path}: not a readable corebench store ({exc}); restore it from a backup "
                        "or point --store at another file") from None
    return Store(path=path, conn=conn)


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)")
    applied = {row[0] for row in conn.execute("SELECT name FROM migrations")}
    unknown = applied - KNOWN_MIGRATIONS
    if unknown:
        raise UserError(f"{path}: made by a newer corebench-runner (migrations {', '.join(sorted(unknown))}); "
                        "upgrade corebench-runner to read it")
    for name, sql in MIGRATIONS:
        if name in applied:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in sql.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT INTO migrations (name, applied) VALUES (?, ?)", (name, now_iso()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False)
