"""The results store on real SQLite files: migrations, atomic task writes, summaries, bad files."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from corebench_runner.diagnostics.stored import show_json
from corebench_runner.errors import UserError
from corebench_runner.records import Usage
from corebench_runner.store.database import (
    MIGRATIONS,
    AnswerRecord,
    TaskRecord,
    claim_task,
    create_run,
    finish_task,
    now_iso,
    open_store,
    set_run_status,
    tasks_to_resume,
)
from corebench_runner.store.results import list_runs, run_summary, runs_json, task_details


def _new_run(store, run_id="run-a", capsules=("cap-1", "cap-2", "cap-3"), repeats=1):
    create_run(store, run_id, model="none", scaffold="oracle", scaffold_version="1", level="hard",
               grader="tolerant", engine_version="0.1.0", host="test", config={"repeats": repeats},
               tasks=[(c, r, "hash-" + c) for c in capsules for r in range(repeats)])
    return run_id


def _answer(question, status, reported=1.0):
    return AnswerRecord(question=question, reported=reported, reported_present=True, references=[1.0, 1.0, 1.0],
                        vision=False, status=status, reason=f"{status} because")


def _finish(store, task_id, outcome, statuses, cost=0.01):
    answers = [_answer(f"q{i}", s) for i, s in enumerate(statuses)]
    return finish_task(store, task_id, TaskRecord(outcome=outcome, model="m", seconds=2.0, steps=3,
                                                  usage=Usage(input_tokens=10, output_tokens=5, cost_usd=cost,
                                                              calls=1),
                                                  answers=answers))


def _review(store, answer_id, new_status):
    with store.transaction() as conn:
        old = store.latest_status(answer_id)
        conn.execute("INSERT INTO reviews (answer_id, reviewer, created, old_status, new_status, reason) "
                     "VALUES (?, 'ann', ?, ?, ?, 'checked')", (answer_id, now_iso(), old, new_status))


def test_new_store_is_wal_with_every_migration_recorded(tmp_path: Path):
    with open_store(tmp_path / "r.sqlite") as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        applied = [row[0] for row in store.query("SELECT name FROM migrations ORDER BY name")]
        assert applied == [m.name for m in MIGRATIONS]
        tables = {row[0] for row in store.query("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"runs", "tasks", "answers", "reviews", "usage"} <= tables
    # Reopening applies nothing twice.
    with open_store(tmp_path / "r.sqlite") as store:
        assert store.conn.execute("SELECT COUNT(*) FROM migrations").fetchone()[0] == len(MIGRATIONS)


def test_a_newer_store_is_refused_in_one_line(tmp_path: Path):
    path = tmp_path / "r.sqlite"
    open_store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO migrations VALUES ('0999_from_the_future', 'x')")
    conn.commit()
    conn.close()
    with pytest.raises(UserError) as err:
        open_store(path)
    assert str(path) in str(err.value) and "newer" in str(err.value) and "\n" not in str(err.value)


def test_a_corrupt_store_is_refused_in_one_line(tmp_path: Path):
    path = tmp_path / "r.sqlite"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(UserError) as err:
        open_store(path)
    assert str(path) in str(err.value) and "--store" in str(err.value)


def test_missing_store_is_not_created_when_reading(tmp_path: Path):
    with pytest.raises(UserError, match="corebench run"):
        open_store(tmp_path / "absent.sqlite", create=False)
    assert not (tmp_path / "absent.sqlite").exists()


def test_summary_counts_outcomes_accuracy_disputes_and_cost(tmp_path: Path):
    with open_store(tmp_path / "r.sqlite") as store:
        run_id = _new_run(store, capsules=("a", "b", "c", "d", "e"))
        ids = {row["capsule_id"]: row["id"] for row in tasks_to_resume(store, run_id)}
        for task_id in ids.values():
            assert claim_task(store, task_id)
        _finish(store, ids["a"], "correct", ["correct", "correct"])
        _finish(store, ids["b"], "disputed", ["correct", "disputed"])
        _finish(store, ids["c"], "incorrect", ["incorrect"])
        finish_task(store, ids["d"], TaskRecord(outcome="infra_error", error="docker died"))
        summary = run_summary(store, run_id)
        assert (summary.tasks_total, summary.tasks_done, summary.scored) == (5, 4, 4)
        assert summary.correct == 1 and summary.accuracy == pytest.approx(0.25)
        assert summary.infra_errors == 1 and summary.open_disputes == 1
        assert summary.verified_correct == 1
        assert summary.cost_usd == pytest.approx(0.03)
        assert [row["capsule_id"] for row in tasks_to_resume(store, run_id)] == ["e"]

        # A reviewer settles the dispute as correct: verified accuracy rises, automatic does not.
        disputed = store.query("SELECT id FROM answers WHERE status = 'disputed'")[0]["id"]
        _review(store, disputed, "correct")
        summary = run_summary(store, run_id)
        assert summary.open_disputes == 0 and summary.verified_correct == 2
        assert summary.verified_accuracy == pytest.approx(0.5) and summary.accuracy == pytest.approx(0.25)
        # A reviewer can also overturn a correct answer.
        first = store.query("SELECT answers.id FROM answers JOIN tasks t ON t.id = task_id "
                            "WHERE t.capsule_id = 'a' ORDER BY answers.id")[0]["id"]
        _review(store, first, "incorrect")
        assert run_summary(store, run_id).verified_correct == 1


def test_finishing_twice_never_duplicates(tmp_path: Path):
    with open_store(tmp_path / "r.sqlite") as store:
        run_id = _new_run(store, capsules=("a",))
        task_id = tasks_to_resume(store, run_id)[0]["id"]
        assert claim_task(store, task_id)
        assert _finish(store, task_id, "correct", ["correct", "correct"])
        assert not _finish(store, task_id, "incorrect", ["incorrect"])
        assert not claim_task(store, task_id)
        assert store.conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 2
        assert store.conn.execute("SELECT COUNT(*) FROM usage").fetchone()[0] == 1
        assert run_summary(store, run_id).correct == 1


def test_a_failed_write_leaves_the_task_unfinished(tmp_path: Path):
    with open_store(tmp_path / "r.sqlite") as store:
        run_id = _new_run(store, capsules=("a",))
        task_id = tasks_to_resume(store, run_id)[0]["id"]
        claim_task(store, task_id)
        # Two answers to the same question break UNIQUE(task_id, question) halfway through the write.
        bad = TaskRecord(outcome="correct", answers=[_answer("q", "correct"), _answer("q", "correct")])
        with pytest.raises(sqlite3.IntegrityError):
            finish_task(store, task_id, bad)
        assert [row["id"] for row in tasks_to_resume(store, run_id)] == [task_id]
        assert store.conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 0


def test_runs_json_is_newest_first_and_show_json_has_the_contract_keys(tmp_path: Path):
    with open_store(tmp_path / "r.sqlite") as store:
        _new_run(store, "older", capsules=("a",))
        store.conn.execute("UPDATE runs SET created = '2020-01-01T00:00:00+00:00' WHERE id = 'older'")
        _new_run(store, "newer", capsules=("a", "b"), repeats=2)
        task_id = tasks_to_resume(store, "newer")[0]["id"]
        claim_task(store, task_id)
        _finish(store, task_id, "correct", ["correct"])
        set_run_status(store, "newer", "finished")
        runs = runs_json(store)
        assert [r["id"] for r in runs] == ["newer", "older"]
        for key in ("id", "created", "model", "scaffold", "level", "status", "accuracy"):
            assert key in runs[0]
        assert runs[0]["status"] == "finished" and runs[0]["accuracy"] == 1.0 and runs[1]["accuracy"] is None
        shown = show_json(store, "newe")  # an unambiguous prefix is enough
        assert shown["run"]["id"] == "newer" and len(shown["tasks"]) == 4
        first = shown["tasks"][0]
        for key in ("capsule_id", "repeat", "outcome", "questions", "cost_usd", "seconds"):
            assert key in first
        assert first["questions"][0]["verified_status"] == "correct"
        assert [(t.capsule_id, t.repeat) for t in task_details(store, "newer")] == [
            ("a", 0), ("a", 1), ("b", 0), ("b", 1)]
        with pytest.raises(UserError, match="corebench runs"):
            run_summary(store, "nope")
        assert len(list_runs(store, limit=1)) == 1


def test_writers_in_other_connections_wait_instead_of_failing(tmp_path: Path):
    path = tmp_path / "r.sqlite"
    with open_store(path) as store:
        run_id = _new_run(store, capsules=[f"c{i}" for i in range(40)])
        ids = [row["id"] for row in tasks_to_resume(store, run_id)]

    def finish_some(chunk):
        with open_store(path) as own:
            for task_id in chunk:
                claim_task(own, task_id)
                _finish(own, task_id, "correct", ["correct"])

    threads = [threading.Thread(target=finish_some, args=(ids[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open_store(path) as store:
        assert run_summary(store, run_id).correct == 40
        assert store.conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 40


def test_default_store_location_env_then_user_data_dir(tmp_path: Path, monkeypatch):
    from corebench_runner.store.database import default_store_path

    monkeypatch.setenv("COREBENCH_STORE", str(tmp_path / "chosen.sqlite"))
    assert default_store_path() == tmp_path / "chosen.sqlite"
    monkeypatch.delenv("COREBENCH_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_store_path() == tmp_path / "data" / "corebench-runner" / "results.sqlite"
    with open_store() as store:  # created on first use, folders included
        assert store.path.is_file() and store.artifacts_dir == tmp_path / "data" / "corebench-runner" / "results-artifacts"


def test_usage_is_kept_per_model_call_when_the_transcript_has_them(tmp_path: Path):
    with open_store(tmp_path / "r.sqlite") as store:
        run_id = _new_run(store, capsules=("a",))
        task_id = tasks_to_resume(store, run_id)[0]["id"]
        claim_task(store, task_id)
        calls = [{"input_tokens": 100 * n, "output_tokens": 10, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 50, "cost_usd": 0.001 * n} for n in (1, 2, 3)]
        finish_task(store, task_id, TaskRecord(outcome="correct", model="anthropic:m",
                                               usage=Usage(input_tokens=600, output_tokens=30, cost_usd=0.006,
                                                           calls=3), usage_calls=calls,
                                               answers=[_answer("q", "correct")]))
        rows = store.query("SELECT * FROM usage ORDER BY id")
        assert [r["input_tokens"] for r in rows] == [100, 200, 300]
        assert sum(r["cost_usd"] for r in rows) == pytest.approx(0.006)
        assert all(r["model"] == "anthropic:m" for r in rows)


def test_a_store_from_before_the_run_owner_migration_is_upgraded_with_its_rows(tmp_path: Path):
    """A store stopped after 0001 (rows and all) gains the lease and per-call usage columns on open."""
    path = tmp_path / "r.sqlite"
    conn = sqlite3.connect(path)
    MIGRATIONS[0].apply(conn)
    conn.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)")
    conn.execute("INSERT INTO migrations VALUES ('0001_initial', 'then')")
    conn.execute("INSERT INTO runs (id, created, model, scaffold, level, grader) VALUES ('old', 'then', 'm', 's', "
                 "'hard', 'tolerant')")
    conn.execute("INSERT INTO tasks (run_id, capsule_id, status, attempts) VALUES ('old', 'cap', 'done', 1)")
    conn.execute("INSERT INTO usage (task_id, model, input_tokens, cost_usd, created) VALUES (1, 'm', 10, 0.1, 'then')")
    conn.commit()
    conn.close()
    with open_store(path) as store:
        assert [r[0] for r in store.query("SELECT name FROM migrations ORDER BY name")] == [m.name for m in MIGRATIONS]
        run_columns = [r["name"] for r in store.query("PRAGMA table_info(runs)")]
        usage_columns = [r["name"] for r in store.query("PRAGMA table_info(usage)")]
        assert run_columns[-2:] == ["owner", "heartbeat"] and usage_columns[-2:] == ["attempt", "live"]
        assert store.query("SELECT owner, heartbeat FROM runs")[0][:] == (None, None)
        assert store.query("SELECT input_tokens, attempt, live FROM usage")[0][:] == (10, 0, 0)
