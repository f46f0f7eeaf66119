"""The store's schema: named migrations, applied in order and recorded in the file itself.

Each migration is a Python function taking the connection, so it can backfill data as well as
change tables. It runs in one transaction with the row that records it: a store holds a
migration completely, recorded, or not at all. A store made by an older corebench-runner is
upgraded on open; one made by a newer one (it names a migration this version does not know) is
refused rather than written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from corebench_runner.errors import UserError

Apply = Callable[[sqlite3.Connection], None]
MIGRATIONS_TABLE = "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)"


@dataclass(frozen=True)
class Migration:
    name: str  # what the store records: never rename or edit one that has shipped, add a new one
    apply: Apply


MIGRATIONS: list[Migration] = []


def migration(name: str) -> Callable[[Apply], Apply]:
    """Register the decorated function as the next migration, recorded under `name`.

    It must only `conn.execute`: `executescript` would commit halfway, and a migration that ends
    the transaction is refused.
    """
    def register(apply: Apply) -> Apply:
        if any(m.name == name for m in MIGRATIONS):
            raise ValueError(f"two store migrations are named {name!r}")
        MIGRATIONS.append(Migration(name, apply))
        return apply
    return register


@migration("0001_initial")
def initial(conn: sqlite3.Connection) -> None:
    # The statements' text is what stores made before migrations were functions hold in
    # sqlite_master, comments included: keep it byte for byte so every store has one schema.
    conn.execute("""CREATE TABLE runs (
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
        )""")
    conn.execute("""CREATE TABLE tasks (
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
        )""")
    conn.execute("""CREATE TABLE answers (
            id INTEGER PRIMARY KEY,
            task_id INTEGER NOT NULL REFERENCES tasks(id),
            question TEXT NOT NULL,
            reported_json TEXT,                      -- NULL when the question was not reported
            references_json TEXT NOT NULL,           -- list of reference run values
            vision INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL,                    -- automatic verdict: correct | incorrect | disputed
            reason TEXT NOT NULL DEFAULT '',
            UNIQUE (task_id, question)
        )""")
    conn.execute("""CREATE TABLE reviews (
            id INTEGER PRIMARY KEY,
            answer_id INTEGER NOT NULL REFERENCES answers(id),
            reviewer TEXT NOT NULL,
            created TEXT NOT NULL,
            old_status TEXT NOT NULL,
            new_status TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT 'cli'       -- cli | import | regrade
        )""")
    conn.execute("""CREATE TABLE usage (
            id INTEGER PRIMARY KEY,
            task_id INTEGER NOT NULL REFERENCES tasks(id),
            model TEXT NOT NULL,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,
            cache_read_input_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL,
            created TEXT NOT NULL
        )""")
    conn.execute("CREATE INDEX tasks_by_run ON tasks(run_id, status)")
    conn.execute("CREATE INDEX answers_by_task ON answers(task_id)")
    conn.execute("CREATE INDEX reviews_by_answer ON reviews(answer_id, id)")


@migration("0002_run_owner_and_live_usage")
def run_owner_and_live_usage(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE runs ADD COLUMN owner TEXT")  # host:pid of the process running it (lease.py)
    conn.execute("ALTER TABLE runs ADD COLUMN heartbeat REAL")  # unix time the owner last said it is alive
    conn.execute("ALTER TABLE usage ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0")  # tasks.attempts when spent
    conn.execute("ALTER TABLE usage ADD COLUMN live INTEGER NOT NULL DEFAULT 0")  # written as the call happened
    conn.execute("CREATE INDEX usage_by_task ON usage(task_id, attempt)")


@migration("0003_review_speed_set_asides")
def review_speed_set_asides(conn: sqlite3.Connection) -> None:
    # A question or a whole task set aside (active = 1) or reinstated (active = 0) within one suite
    # (benchmark label and version). Append-only like reviews: the latest row per item stands.
    conn.execute("""CREATE TABLE set_asides (
            id INTEGER PRIMARY KEY,
            suite TEXT NOT NULL,                     -- benchmark label, e.g. 'core-bench 1.1 mainline'
            capsule_id TEXT NOT NULL,
            question TEXT NOT NULL DEFAULT '',       -- '' = the whole task
            active INTEGER NOT NULL,                 -- 1 set aside, 0 reinstated
            reviewer TEXT NOT NULL,
            created TEXT NOT NULL,
            reason TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT 'cli'       -- cli | web | import
        )""")
    conn.execute("CREATE INDEX set_asides_by_item ON set_asides(suite, capsule_id, question, created, id)")


@migration("0004_triage_proposals")
def triage_proposals(conn: sqlite3.Connection) -> None:
    # A triage call (one model conversation or one agent CLI session per task) and what it spent:
    # kept apart from `usage`, which holds the agent's own spending on the task.
    conn.execute("""CREATE TABLE triage_calls (
            id INTEGER PRIMARY KEY,
            task_id INTEGER NOT NULL REFERENCES tasks(id),
            created TEXT NOT NULL,
            model TEXT NOT NULL,
            scaffold TEXT NOT NULL DEFAULT '',       -- '' for a plain model call, else the agent CLI
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,
            cache_read_input_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL,                           -- NULL when the price is unknown
            error TEXT                               -- why the call gave no proposal, if it did not
        )""")
    # A machine's proposal on one answer; never a verdict (answers.status and reviews are untouched).
    conn.execute("""CREATE TABLE triage_proposals (
            id INTEGER PRIMARY KEY,
            answer_id INTEGER NOT NULL REFERENCES answers(id),
            call_id INTEGER NOT NULL REFERENCES triage_calls(id),
            verdict TEXT NOT NULL,                   -- right_in_spirit | wrong
            category TEXT NOT NULL,                  -- grading_error | benchmark_error | environment_barrier
                                                     -- | agent_error | shortcut
            reasoning TEXT NOT NULL DEFAULT ''
        )""")
    conn.execute("CREATE INDEX triage_proposals_by_answer ON triage_proposals(answer_id, id)")


@migration("0005_answer_sources_and_reruns")
def answer_sources_and_reruns(conn: sqlite3.Connection) -> None:
    # Where each answer came from (diagnostics/provenance.py) and whether a re-run of the agent's
    # reproduce.sh produced it (diagnostics/reproduced.py); NULL for answers recorded before.
    conn.execute("ALTER TABLE answers ADD COLUMN source TEXT")  # produced | produced_modified | simulated | ...
    conn.execute("ALTER TABLE answers ADD COLUMN source_evidence_json TEXT")  # {command, lines, note}
    conn.execute("ALTER TABLE answers ADD COLUMN reproduced TEXT")  # yes | no | no_recipe | rerun_failed
    conn.execute("ALTER TABLE tasks ADD COLUMN rerun_seconds REAL")  # the re-run's time, apart from the agent's


@migration("0006_answer_confidence")
def answer_confidence(conn: sqlite3.Connection) -> None:
    # The agent's own confidence (0-1) that the answer is right, from confidence.json beside the report;
    # NULL when it gave none (never invented). docs/measures.md.
    conn.execute("ALTER TABLE answers ADD COLUMN confidence REAL")


@migration("0007_explain_calls")
def explain_calls(conn: sqlite3.Connection) -> None:
    # What `corebench explain` spent asking a model about a task: the harness's spending, kept apart from
    # `usage` (the agent's own, which HAL's usage totals and a retried task's earlier attempts read).
    conn.execute("""CREATE TABLE explain_calls (
            id INTEGER PRIMARY KEY,
            task_id INTEGER NOT NULL REFERENCES tasks(id),
            created TEXT NOT NULL,
            model TEXT NOT NULL,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,
            cache_read_input_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL                            -- NULL when the price is unknown
        )""")


def migrate(conn: sqlite3.Connection, path: Path, applied_at: str) -> None:
    """Apply every migration the file lacks, each in its own transaction; refuse a newer file.

    `conn` is in autocommit mode (isolation_level=None), as open_store makes it.
    """
    conn.execute(MIGRATIONS_TABLE)
    applied = _applied(conn, path)
    for step in MIGRATIONS:
        if step.name in applied:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process opening the same store may have applied it since we looked.
            applied = _applied(conn, path)
            if step.name not in applied:
                step.apply(conn)
                if not conn.in_transaction:
                    raise RuntimeError(f"store migration {step.name} ended its transaction; "
                                       "it must only conn.execute (no commit, no executescript)")
                conn.execute("INSERT INTO migrations (name, applied) VALUES (?, ?)", (step.name, applied_at))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def _applied(conn: sqlite3.Connection, path: Path) -> set[str]:
    applied = {row[0] for row in conn.execute("SELECT name FROM migrations")}
    unknown = applied - {m.name for m in MIGRATIONS}
    if unknown:
        raise UserError(f"{path}: made by a newer corebench-runner (migrations {', '.join(sorted(unknown))}); "
                        "upgrade corebench-runner to read it")
    return applied
