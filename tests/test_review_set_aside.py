"""Setting broken questions and tasks aside: `corebench review invalidate` / `reinstate`, scoped to a suite,
audited, reversible, carried by export/import, and shown by `runs`, `show` and `show --json`.

Real SQLite stores built through the store's own write functions (tests/support_store.py), driven
through the real `corebench` click command.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.store.database import open_store
from corebench_runner.store.results import run_summary
from support_store import ACCURACY_Q, BEST_Q, LOSS_Q, QA, SampleTask, add_run

MAINLINE = "core-bench 1.1 mainline"
ORIGINAL = "core-bench 1.0 test"


def corebench(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


def tasks() -> list[SampleTask]:
    """broken: its accuracy question's reference is wrong; two-q: one good and one broken question."""
    return [
        SampleTask("good", [QA(ACCURACY_Q, 0.81, [0.81] * 3, "correct", "inside the interval")]),
        SampleTask("broken", [QA(ACCURACY_Q, 0.5, [0.9] * 3, "incorrect", "outside the interval")]),
        SampleTask("two-q", [QA(LOSS_Q, 0.12, [0.12] * 3, "correct", "inside the interval"),
                             QA(BEST_Q, "sgd", ["adam"] * 3, "incorrect", "another label")]),
        SampleTask("late", [], outcome="timeout"),
    ]


@pytest.fixture
def two_suites(tmp_path):
    """The same capsules run under v1.1 mainline and under the original benchmark."""
    store = open_store(tmp_path / "results.sqlite")
    mainline = add_run(store, tasks(), run_id="run-mainline", benchmark=MAINLINE)
    original = add_run(store, tasks(), run_id="run-original", benchmark=ORIGINAL)
    yield store, mainline, original
    store.close()


def test_invalidate_a_task_changes_verified_only_in_its_suite_and_reinstate_undoes_it(two_suites):
    store, mainline, original = two_suites
    path = str(store.path)
    before = run_summary(store, mainline)
    assert (before.correct, before.scored, before.verified_correct, before.valid_tasks) == (1, 4, 1, 4)

    ambiguous = corebench("review", "invalidate", "broken", "--store", path, "--reason", "wrong reference")
    assert ambiguous.exit_code == 2 and "--benchmark" in ambiguous.output and MAINLINE in ambiguous.output
    no_reason = corebench("review", "invalidate", "broken", "--store", path, "--benchmark", MAINLINE)
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output

    result = corebench("review", "invalidate", "broken", "--store", path, "--benchmark", MAINLINE,
                       "--reason", "reference 0.9 is a typo in the paper's table", "--reviewer", "alice")
    assert result.exit_code == 0, result.output
    assert f"set aside: broken: the whole task in '{MAINLINE}' by alice" in result.output
    assert "25.0% automatic, 33.3% verified (1 of 3 valid tasks, 1 set aside" in result.output

    after = run_summary(store, mainline)
    assert (after.accuracy, after.verified_accuracy, after.valid_tasks, after.set_aside_tasks) == (0.25, 1 / 3, 3, 1)
    assert [(s["capsule_id"], s["whole_task"], s["reason"], s["reviewer"]) for s in after.set_asides] == [
        ("broken", True, "reference 0.9 is a typo in the paper's table", "alice")]
    untouched = run_summary(store, original)  # another suite: the set-aside does not reach it
    assert (untouched.verified_accuracy, untouched.valid_tasks, untouched.set_asides) == (0.25, 4, [])

    again = corebench("review", "invalidate", "broken", "--store", path, "--benchmark", MAINLINE, "--reason", "x")
    assert again.exit_code == 2 and "already set aside" in again.output

    undo = corebench("review", "reinstate", "broken", "--store", path, "--benchmark", MAINLINE,
                     "--reason", "the authors confirmed 0.9", "--reviewer", "bob")
    assert undo.exit_code == 0, undo.output
    assert run_summary(store, mainline).verified_accuracy == 0.25
    history = corebench("review", "set-asides", "--store", path, "--history")
    assert history.output.count("broken") == 2 and "reinstated" in history.output and "bob" in history.output
    assert corebench("review", "set-asides", "--store", path).output.strip() == "Nothing is set aside."


def test_a_set_aside_question_leaves_its_task_judged_on_the_rest(two_suites):
    store, mainline, _ = two_suites
    path = str(store.path)
    result = corebench("review", "invalidate", "two-q", "--question", "lowest validation", "--store", path,
                       "--benchmark", MAINLINE, "--reason", "the paper never compares optimizers")
    assert result.exit_code == 0, result.output
    assert f"question '{BEST_Q}'" in result.output
    summary = run_summary(store, mainline)
    # two-q now stands on its loss question, which is correct: 2 of 4 valid tasks.
    assert (summary.verified_correct, summary.valid_tasks, summary.accuracy) == (2, 4, 0.25)

    shown = json.loads(corebench("show", mainline, "--store", path, "--json").output)
    assert shown["run"]["verified_accuracy"] == 0.5 and shown["run"]["accuracy"] == 0.25
    assert [s["question"] for s in shown["run"]["set_asides"]] == [BEST_Q]
    two_q = next(t for t in shown["tasks"] if t["capsule_id"] == "two-q")
    assert two_q["verified_correct"] and not two_q["set_aside"]
    assert [q["set_aside"] for q in two_q["questions"]] == [False, True]

    # Setting aside the task's last question sets the whole task aside.
    corebench("review", "invalidate", "two-q", "--question", LOSS_Q, "--store", path, "--benchmark", MAINLINE,
              "--reason", "no training loss is reported in the paper")
    summary = run_summary(store, mainline)
    assert (summary.verified_correct, summary.valid_tasks, summary.set_aside_tasks) == (1, 3, 1)
    text = corebench("show", mainline, "--store", path).output
    assert "two-q #0: incorrect   (set aside)" in text and "set aside: two-q question" in text
    listed = corebench("review", "list", "--run", mainline, "--capsule", "two-q", "--store", path).output
    assert listed.count("(set aside)") == 2


def test_unknown_capsule_or_question_is_one_clear_line(two_suites):
    store, _, _ = two_suites
    path = str(store.path)
    missing = corebench("review", "invalidate", "nope", "--store", path, "--reason", "r")
    assert missing.exit_code == 2 and missing.output.startswith("error: nope: no run in")
    assert len(missing.output.strip().splitlines()) == 1
    question = corebench("review", "invalidate", "two-q", "--question", "no such words", "--store", path,
                         "--benchmark", MAINLINE, "--reason", "r")
    assert question.exit_code == 2 and "--question 'no such words'" in question.output
    assert "Traceback" not in missing.output + question.output
    nothing = corebench("review", "reinstate", "good", "--store", path, "--benchmark", MAINLINE, "--reason", "r")
    assert nothing.exit_code == 2 and "not set aside" in nothing.output


def test_runs_lists_valid_tasks_coverage_and_set_asides(two_suites):
    store, mainline, _ = two_suites
    path = str(store.path)
    corebench("review", "invalidate", "broken", "--store", path, "--benchmark", MAINLINE, "--reason", "bad ref")
    table = corebench("runs", "--wide", "--store", path).output
    row = next(line for line in table.splitlines() if line.startswith("run-mainline"))
    # broken's answer is set aside (reviewed); two-q's wrong answer is not yet: 1 of 2, provisional.
    assert "33.3% (1/3) provisional" in row and "1/2" in row
    assert f"set aside in {MAINLINE}: broken whole task by" in table and table.rstrip().endswith("bad ref")
    listed = json.loads(corebench("runs", "--store", path, "--json").output)
    mine = next(r for r in listed if r["id"] == mainline)
    assert (mine["review_needed"], mine["review_done"], mine["verified_provisional"]) == (2, 1, True)
    assert mine["set_asides"][0]["reason"] == "bad ref"


def test_export_and_import_carry_set_asides_with_author_and_time(two_suites, tmp_path):
    store, mainline, _ = two_suites
    path = str(store.path)
    corebench("review", "invalidate", "broken", "--store", path, "--benchmark", MAINLINE, "--reason", "bad ref",
              "--reviewer", "alice")
    corebench("review", "invalidate", "two-q", "--question", BEST_Q, "--store", path, "--benchmark", MAINLINE,
              "--reason", "not in the paper", "--reviewer", "alice")
    corebench("review", "reinstate", "two-q", "--question", BEST_Q, "--store", path, "--benchmark", MAINLINE,
              "--reason", "it is, in the appendix", "--reviewer", "bob")
    shared = tmp_path / "verdicts.jsonl"
    exported = corebench("review", "export", str(shared), "--store", path, "--run", mainline)
    assert "wrote 0 verdict(s) and 3 set-aside decision(s)" in exported.output

    other = open_store(tmp_path / "other.sqlite")
    add_run(other, tasks(), run_id="run-mainline", benchmark=MAINLINE)
    other.close()
    imported = corebench("review", "import", str(shared), "--store", str(tmp_path / "other.sqlite"))
    assert imported.exit_code == 0, imported.output
    assert "imported 3 set-aside decision(s); 0 already present" in imported.output
    again = corebench("review", "import", str(shared), "--store", str(tmp_path / "other.sqlite"))
    assert "imported 0 set-aside decision(s); 3 already present" in again.output
    with open_store(tmp_path / "other.sqlite") as copy:
        there = run_summary(copy, "run-mainline")
        assert (there.valid_tasks, there.verified_accuracy) == (3, 1 / 3)  # broken set aside; two-q reinstated
        assert [(s["capsule_id"], s["reviewer"]) for s in there.set_asides] == [("broken", "alice")]
    listed = corebench("review", "set-asides", "--store", str(tmp_path / "other.sqlite"), "--history").output
    assert listed.count("alice") == 2 and "bob" in listed


def test_a_set_aside_answer_leaves_the_terminal_queue(tmp_path):
    store = open_store(tmp_path / "results.sqlite")
    run_id = add_run(store, [SampleTask("only", [QA(ACCURACY_Q, 0.93, [0.9312] * 3, "disputed", "rounded")])],
                     benchmark=MAINLINE)
    path = str(store.path)
    assert "1 answer(s) to review" in corebench("review", "--store", path, input="q\n").output
    corebench("review", "invalidate", "only", "--store", path, "--reason", "the question has no answer in the paper")
    assert "No open disputes." in corebench("review", "--store", path, input="q\n").output
    summary = run_summary(store, run_id)
    assert (summary.open_disputes, summary.review_done, summary.review_needed, summary.verified_provisional) == (
        0, 1, 1, False)
    assert summary.verified_accuracy is None and summary.valid_tasks == 0
    store.close()


def test_table_exports_mark_set_aside_tasks_and_answers_with_the_reason(two_suites, tmp_path):
    import csv
    import io

    import pandas as pd

    store, mainline, original = two_suites
    path = str(store.path)
    for capsule, question, reason in (("broken", None, "reference 0.9 is a typo"),
                                      ("two-q", BEST_Q, "the paper never compares optimizers")):
        chosen = ["--question", question] if question else []
        result = corebench("review", "invalidate", capsule, *chosen, "--store", path, "--benchmark", MAINLINE,
                           "--reason", reason)
        assert result.exit_code == 0, result.output

    rows = list(csv.DictReader(io.StringIO(corebench("export", mainline, "--store", path).output)))
    marks = {r["capsule_id"]: (r["set_aside"], r["verified_outcome"]) for r in rows}
    assert marks["broken"] == ("True", "set_aside") and marks["good"][0] == "False" and marks["two-q"][0] == "False"
    tasks_json = json.loads(corebench("export", "--format", "json", "--store", path).output)["tasks"]
    assert {(t["run_id"], t["capsule_id"]) for t in tasks_json if t["set_aside"]} == {(mainline, "broken")}

    out = tmp_path / "answers.parquet"
    assert corebench("export", "--format", "parquet", "--out", str(out), "--store", path).exit_code == 0
    answers = pd.read_parquet(out)
    aside = answers[answers["set_aside"]]
    assert set(zip(aside["run_id"], aside["capsule_id"], aside["question"], aside["set_aside_reason"])) == {
        (mainline, "broken", ACCURACY_Q, "reference 0.9 is a typo"),
        (mainline, "two-q", BEST_Q, "the paper never compares optimizers")}
    assert answers[answers["run_id"].eq(original)]["set_aside_reason"].isna().all()  # another suite: untouched
