"""Store migrations on real SQLite files: a store stopped before any migration, or made by an older
corebench-runner, opens, upgrades to exactly a fresh store's schema and keeps every row."""

from __future__ import annotations

import importlib.util
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from corebench_runner.errors import UserError
from corebench_runner.store.database import create_run, open_store
from corebench_runner.store.schema import MIGRATIONS, MIGRATIONS_TABLE, Migration

FIXTURES = Path(__file__).parent / "fixtures"
THEN = "2024-05-01T10:00:00+00:00"

# Rows as runs write them, for every table a migration has made: a finished run, a done task and a
# pending one, answers, a human review and per-call usage. A migration adding a table adds its rows here.
ROWS: dict[str, list[dict[str, Any]]] = {
    "runs": [
        {"id": "run-old", "created": THEN, "finished": THEN, "status": "finished", "model": "anthropic:claude-x",
         "scaffold": "core-agent", "scaffold_version": "3", "level": "hard", "grader": "tolerant",
         "engine_version": "0.4.0", "host": "lab-1", "config_json": '{"repeats": 1}'},
    ],
    "tasks": [
        {"id": 1, "run_id": "run-old", "capsule_id": "capsule-1", "repeat": 0, "status": "done",
         "outcome": "disputed", "error": None, "attempts": 2, "started": THEN, "finished": THEN, "seconds": 61.5,
         "steps": 12, "input_tokens": 1200, "output_tokens": 300, "cache_creation_input_tokens": 50,
         "cache_read_input_tokens": 900, "cost_usd": 0.042, "capsule_hash": "ab" * 32,
         "transcript_path": "run-old/capsule-1/transcript.json", "artifacts_dir": "run-old/capsule-1",
         "details_json": '{"stages": {"agent": 60.0}}'},
        {"id": 2, "run_id": "run-old", "capsule_id": "capsule-2", "repeat": 0, "status": "pending",
         "outcome": None, "error": None, "attempts": 0, "started": None, "finished": None, "seconds": None,
         "steps": None, "input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
         "cache_read_input_tokens": 0, "cost_usd": None, "capsule_hash": "cd" * 32, "transcript_path": None,
         "artifacts_dir": None, "details_json": "{}"},
    ],
    "answers": [
        {"id": 1, "task_id": 1, "question": "Report the test accuracy.", "reported_json": "0.93",
         "references_json": "[0.9312, 0.9308, 0.9315]", "vision": 0, "status": "disputed",
         "reason": "rounded to 2 decimals"},
        {"id": 2, "task_id": 1, "question": "From fig 2, report the peak epoch.", "reported_json": None,
         "references_json": "[14, 14, 15]", "vision": 1, "status": "incorrect", "reason": "not reported"},
    ],
    "reviews": [
        {"id": 1, "answer_id": 1, "reviewer": "ann", "created": THEN, "old_status": "disputed",
         "new_status": "correct", "reason": "the paper rounds to 2 decimals", "source": "cli"},
    ],
    "usage": [
        {"id": 1, "task_id": 1, "model": "anthropic:claude-x", "input_tokens": 700, "output_tokens": 100,
         "cache_creation_input_tokens": 50, "cache_read_input_tokens": 400, "cost_usd": 0.02, "created": THEN},
        {"id": 2, "task_id": 1, "model": "anthropic:claude-x", "input_tokens": 500, "output_tokens": 200,
         "cache_creation_input_tokens": 0, "cache_read_input_tokens": 500, "cost_usd": 0.022, "created": THEN},
    ],
    "set_asides": [
        {"id": 1, "suite": "core-bench 1.0 test", "capsule_id": "capsule-2", "question": "", "active": 1,
         "reviewer": "ann", "created": THEN, "reason": "the reference run used another data release", "source": "cli"},
    ],
    "triage_calls": [
        {"id": 1, "task_id": 1, "created": THEN, "model": "anthropic:claude-x", "scaffold": "", "input_tokens": 900,
         "output_tokens": 120, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "cost_usd": 0.004,
         "error": None},
    ],
    "triage_proposals": [
        {"id": 1, "answer_id": 2, "call_id": 1, "verdict": "wrong", "category": "agent_error",
         "reasoning": "the agent never ran the training script"},
    ],
}


def _fill(conn: sqlite3.Connection) -> None:
    """Write ROWS into every table the store has; a column ROWS does not know gets a value of its type."""
    tables = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'migrations' ORDER BY rowid")]
    assert set(tables) <= set(ROWS), f"add rows for {sorted(set(tables) - set(ROWS))} to ROWS"
    for table, rows in ROWS.items():  # parents first, for the foreign keys
        if table not in tables:
            continue
        columns = conn.execute(f"PRAGMA table_info({table})").fetchall()
        for n, known in enumerate(rows, start=1):
            row = {name: known[name] if name in known else _value_of(kind, n) for _, name, kind, *_ in columns}
            conn.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                         tuple(row.values()))


def _value_of(kind: str, n: int) -> Any:
    return {"INTEGER": n, "REAL": n + 0.5}.get(kind.upper(), f"value {n}")


def _rows(conn: sqlite3.Connection, columns: dict[str, list[str]]) -> dict[str, list[tuple]]:
    return {table: [tuple(row) for row in conn.execute(f"SELECT {', '.join(names)} FROM {table} ORDER BY rowid")]
            for table, names in columns.items()}


def _columns(conn: sqlite3.Connection) -> dict[str, list[str]]:
    tables = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'migrations'")]  # checked on its own
    return {table: [row[1] for row in conn.execute(f"PRAGMA table_info({table})")] for table in tables}


def _schema(path: Path) -> dict[str, Any]:
    """sqlite_master as written, and what SQLite makes of it: columns, indexes, foreign keys."""
    conn = sqlite3.connect(path)
    try:
        master = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()
        tables = [name for kind, name, _, _ in master if kind == "table"]
        indexes = [name for kind, name, _, _ in master if kind == "index"]
        return {
            "sqlite_master": master,
            "columns": {t: conn.execute(f"PRAGMA table_xinfo({t})").fetchall() for t in tables},
            "foreign_keys": {t: conn.execute(f"PRAGMA foreign_key_list({t})").fetchall() for t in tables},
            "index_lists": {t: conn.execute(f"PRAGMA index_list({t})").fetchall() for t in tables},
            "index_columns": {i: conn.execute(f"PRAGMA index_xinfo({i})").fetchall() for i in indexes},
        }
    finally:
        conn.close()


def _fresh_schema(tmp_path: Path) -> dict[str, Any]:
    open_store(tmp_path / "fresh.sqlite").close()
    return _schema(tmp_path / "fresh.sqlite")


def _upgrade_and_check(path: Path, tmp_path: Path) -> None:
    """Fill the store, open it with today's code: every row is kept and the schema is a fresh store's."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    _fill(conn)
    columns = _columns(conn)
    before = _rows(conn, columns)
    recorded = conn.execute("SELECT name, applied FROM migrations ORDER BY rowid").fetchall()
    conn.close()

    with open_store(path) as store:
        applied = [tuple(row) for row in store.query("SELECT name, applied FROM migrations ORDER BY rowid")]
        assert [name for name, _ in applied] == [m.name for m in MIGRATIONS]
        assert applied[:len(recorded)] == recorded  # nothing applied or recorded twice
        assert _rows(store.conn, columns) == before
        assert store.query("PRAGMA foreign_key_check") == []
    assert _schema(path) == _fresh_schema(tmp_path)


@pytest.mark.parametrize("stop", range(len(MIGRATIONS)), ids=[f"before-{m.name}" for m in MIGRATIONS])
def test_a_store_stopped_before_each_migration_upgrades_to_a_fresh_schema_with_every_row(tmp_path: Path, stop: int):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(MIGRATIONS_TABLE)
    for step in MIGRATIONS[:stop]:
        conn.execute("BEGIN")
        step.apply(conn)
        conn.execute("INSERT INTO migrations VALUES (?, ?)", (step.name, THEN))
        conn.execute("COMMIT")
    conn.close()
    _upgrade_and_check(path, tmp_path)


def _acb6cbc_schema_module():
    spec = importlib.util.spec_from_file_location("store_schema_acb6cbc", FIXTURES / "store_schema_acb6cbc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


OLD_MIGRATIONS = [name for name, _ in _acb6cbc_schema_module().MIGRATIONS]


@pytest.mark.parametrize("stop", range(1, len(OLD_MIGRATIONS) + 1), ids=[f"after-{n}" for n in OLD_MIGRATIONS])
def test_a_store_made_by_the_sql_text_migrations_opens_and_upgrades(tmp_path: Path, stop: int):
    """Stores made at commit acb6cbc, when migrations were SQL text split on ";", recorded the same names."""
    old = _acb6cbc_schema_module()
    old.MIGRATIONS = old.MIGRATIONS[:stop]
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)  # as open_store connected then
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    old.migrate(conn, path, THEN)
    conn.close()
    _upgrade_and_check(path, tmp_path)


def test_a_migration_backfills_in_the_transaction_that_records_it(tmp_path: Path, monkeypatch):
    path = tmp_path / "r.sqlite"
    with open_store(path) as store:
        create_run(store, "run-a", model="m", scaffold="oracle", scaffold_version="1", level="hard",
                   grader="tolerant", engine_version="0", host="lab-1", config={}, tasks=[("cap", 0, "h")])

    def add_label(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE runs ADD COLUMN label TEXT")
        conn.execute("UPDATE runs SET label = scaffold || '@' || host")
        if failing:
            raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr("corebench_runner.store.schema.MIGRATIONS", [*MIGRATIONS, Migration("0999_label", add_label)])
    failing = True
    with pytest.raises(UserError, match="disk I/O error"):
        open_store(path)
    conn = sqlite3.connect(path)
    assert "label" not in [row[1] for row in conn.execute("PRAGMA table_info(runs)")]
    assert "0999_label" not in [row[0] for row in conn.execute("SELECT name FROM migrations")]
    conn.close()

    failing = False
    with open_store(path) as store:
        assert [tuple(r) for r in store.query("SELECT id, label FROM runs")] == [("run-a", "oracle@lab-1")]
        assert store.query("SELECT name FROM migrations ORDER BY rowid")[-1][0] == "0999_label"


def test_a_migration_that_commits_by_itself_is_refused_and_not_recorded(tmp_path: Path, monkeypatch):
    """executescript commits first: the migration would no longer be one transaction with its record."""
    def scripted(conn: sqlite3.Connection) -> None:
        conn.executescript("CREATE TABLE notes (id INTEGER PRIMARY KEY);")

    monkeypatch.setattr("corebench_runner.store.schema.MIGRATIONS", [*MIGRATIONS, Migration("0999_notes", scripted)])
    with pytest.raises(RuntimeError, match="0999_notes ended its transaction"):
        open_store(tmp_path / "r.sqlite")
    conn = sqlite3.connect(tmp_path / "r.sqlite")
    assert "0999_notes" not in [row[0] for row in conn.execute("SELECT name FROM migrations")]
    conn.close()


def test_commands_opening_a_new_store_at_once_all_open_it(tmp_path: Path):
    """Two commands started together on a new store (two terminals, a run and the review server):
    each found no migration applied, then waited for the write lock; the second used to apply them
    again and stop with "the store is damaged ... (table runs already exists)"."""
    path = tmp_path / "r.sqlite"
    creator = sqlite3.connect(path, isolation_level=None)
    creator.execute("PRAGMA journal_mode=WAL")
    creator.execute(MIGRATIONS_TABLE)
    creator.execute("BEGIN IMMEDIATE")  # a first opener holding the write lock
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            open_store(path).close()
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    openers = [threading.Thread(target=open_it) for _ in range(3)]
    for opener in openers:
        opener.start()
    time.sleep(1.0)  # each has read the (empty) migrations table and waits for the lock
    creator.execute("ROLLBACK")
    creator.close()
    for opener in openers:
        opener.join(timeout=60)
    assert errors == []
    with open_store(path) as store:
        assert [r[0] for r in store.query("SELECT name FROM migrations ORDER BY rowid")] == [m.name for m in MIGRATIONS]
    assert _schema(path) == _fresh_schema(tmp_path)
