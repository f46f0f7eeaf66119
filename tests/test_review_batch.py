"""Identical answers decided once in the terminal queue: one decision, one audited verdict per answer.

Real SQLite stores (tests/support_store.py) and the real `corebench review` click command.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.review.verdicts import history
from corebench_runner.store.database import open_store
from corebench_runner.store.results import run_summary
from support_store import ACCURACY_Q, BEST_Q, QA, SampleTask, add_run

MAINLINE = "core-bench 1.1 mainline"
ORIGINAL = "core-bench 1.0 test"
ROUNDED = QA(ACCURACY_Q, 0.93, [0.9312] * 3, "disputed", "0.93 equals the references rounded to 2 decimals")


def corebench(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


def answer_ids(store, run_id: str, capsule_id: str) -> list[int]:
    return [row[0] for row in store.query(
        "SELECT answers.id FROM answers JOIN tasks ON tasks.id = answers.task_id WHERE tasks.run_id = ? "
        "AND tasks.capsule_id = ? ORDER BY tasks.repeat", (run_id, capsule_id))]


@pytest.fixture
def repeated(tmp_path):
    """Two runs of one suite give 0.93 four times (three repeats, then once more); another suite once; and
    a different value once."""
    store = open_store(tmp_path / "results.sqlite")
    first = add_run(store, [SampleTask("acc", [ROUNDED], repeat=r) for r in range(3)]
                    + [SampleTask("opt", [QA(BEST_Q, "adam", ["Adam W"] * 3, "disputed", "close")])],
                    run_id="run-1", benchmark=MAINLINE)
    second = add_run(store, [SampleTask("acc", [ROUNDED]),
                             SampleTask("opt", [QA(BEST_Q, "sgd", ["Adam W"] * 3, "disputed", "close")])],
                     run_id="run-2", benchmark=MAINLINE)
    other = add_run(store, [SampleTask("acc", [ROUNDED])], run_id="run-other", benchmark=ORIGINAL)
    yield store, first, second, other
    store.close()


def test_one_decision_settles_every_identical_answer_with_its_own_verdict(repeated):
    store, first, second, other = repeated
    result = corebench("review", "--store", str(store.path), "--reviewer", "alice", "--run", "run-1",
                       input="q\n")
    # Filtered to one run, the three repeats are still one decision.
    assert "3 identical answers" in result.output

    result = corebench("review", "--store", str(store.path), "--reviewer", "alice",
                       input="c\n0.9312 rounded to 2 decimals\ns\ns\nq\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "7 answer(s) to review" in out and "identical answers are decided together: 4 decision(s)" in out
    assert "4 identical answers" in out
    assert "recorded: disputed -> correct by alice; applied to 4 identical answers" in out
    assert "4 verdict(s) recorded" in out

    same_suite = answer_ids(store, first, "acc") + answer_ids(store, second, "acc")
    for answer_id in same_suite:
        assert [(r.reviewer, r.old_status, r.new_status, r.reason) for r in history(store, answer_id)] == [
            ("alice", "disputed", "correct", "0.9312 rounded to 2 decimals")]
    # Another suite's identical answer, and another value, are decided on their own.
    assert history(store, answer_ids(store, other, "acc")[0]) == []
    assert all(history(store, a) == [] for a in answer_ids(store, first, "opt") + answer_ids(store, second, "opt"))
    assert run_summary(store, first).verified_correct == 3


def test_an_identical_answer_settled_meanwhile_keeps_its_verdict(repeated, monkeypatch):
    store, first, second, _ = repeated
    from corebench_runner.review import batch as batch_rules, verdicts as review

    original = batch_rules.decide
    late = answer_ids(store, second, "acc")[0]

    def someone_else_first(store_, seen, verdict, **kwargs):
        review.record_verdict(store_, late, "incorrect", reviewer="bob", reason="the paper says 0.95")
        return original(store_, seen, verdict, **kwargs)

    monkeypatch.setattr(batch_rules, "decide", someone_else_first)
    result = corebench("review", "--store", str(store.path), "--reviewer", "alice",
                       input="c\nrounded\nq\n")
    assert result.exit_code == 0, result.output
    assert "applied to 3 identical answers" in result.output
    assert f"answer {late} was ruled on by someone else meanwhile" in result.output
    assert [r.reviewer for r in history(store, late)] == ["bob"]
