"""The store's schema: named migrations, applied in order and recorded in the file itself.

A store made by an older corebench-runner is upgraded on open; one made by a newer one (it names
a migration this version does not know) is refused rather than written.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from corebench_runner.errors import UserError

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
    ("0002_run_owner_and_live_usage", """
        ALTER TABLE runs ADD COLUMN owner TEXT;        -- host:pid of the process running it (lease.py)
        ALTER TABLE runs ADD COLUMN heartbeat REAL;    -- unix time the owner last said it is alive
        ALTER TABLE usage ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;  -- tasks.attempts when it was spent
        ALTER TABLE usage ADD COLUMN live INTEGER NOT NULL DEFAULT 0;     -- written as the call happened
        CREATE INDEX usage_by_task ON usage(task_id, attempt);
    """),
]
KNOWN_MIGRATIONS = {name for name, _ in MIGRATIONS}


def migrate(conn: sqlite3.Connection, path: Path, applied_at: str) -> None:
    """Apply every migration the file lacks, each in its own transaction; refuse a newer file."""
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
            conn.execute("INSERT INTO migrations (name, applied) VALUES (?, ?)", (name, applied_at))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
