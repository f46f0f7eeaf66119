"""Review: the disputes walk, verdict rows and history, both accuracies, export/import, regrade.

Real SQLite stores built through the store's own write functions (tests/support_store.py),
driven through the real `corebench` click command.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.errors import UserError
from corebench_runner.review.evidence import find_evidence
from corebench_runner.review.verdicts import (
    default_reviewer,
    history,
    open_disputes,
    record_verdict,
    regrade,
    review_log,
)
from corebench_runner.store.results import run_summary
from support_store import ACCURACY_Q, BEST_Q, FIG_Q, QA, SampleTask, add_run, bash_call, dispute_store

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def sample(tmp_path):
    store, run_id = dispute_store(tmp_path / "results.sqlite")
    yield store, run_id
    store.close()


def corebench(*args: str, input: str | None = None, env: dict | None = None):
    return CliRunner().invoke(main, list(args), input=input, env=env, catch_exceptions=False)


def answer_id(store, capsule_id: str, question: str) -> int:
    return store.conn.execute(
        "SELECT answers.id FROM answers JOIN tasks ON tasks.id = answers.task_id "
        "WHERE tasks.capsule_id = ? AND answers.question = ?", (capsule_id, question)).fetchone()[0]


def review_rows(path: Path) -> list[tuple]:
    """Reviews as a reader of the SQLite file sees them, without local ids."""
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT t.run_id, t.capsule_id, t.repeat, a.question, r.reviewer, r.created, r.old_status, "
            "r.new_status, r.reason FROM reviews r JOIN answers a ON a.id = r.answer_id "
            "JOIN tasks t ON t.id = a.task_id ORDER BY r.id").fetchall()


# ----------------------------------------------------------------------------- the walk

def test_walk_shows_each_dispute_records_verdicts_and_both_accuracies(sample):
    store, run_id = sample
    before = run_summary(store, run_id)
    assert (before.accuracy, before.verified_accuracy, before.open_disputes) == (0.2, 0.2, 3)

    # b: correct (rounding), c: skip, d's figure: incorrect after an empty reason is refused.
    result = corebench("review", "--store", str(store.path), "--reviewer", "alice",
                       input="c\nrounded from 0.9312, same result\ns\ni\n\nthe figure peaks at 14.2\n")
    assert result.exit_code == 0, result.output
    out = result.output
    # What the reviewer needs, on the first screen.
    assert "1 of 3: answer" in out and "Report the test accuracy of the model." in out
    assert "Reported    0.93" in out
    assert out.count("run 1: 0.9312") == 1 and "run 3: 0.9312" in out
    flat = " ".join(out.split())  # prose wraps at 80 columns
    assert "Official    incorrect: 0.93 is outside" in out and "0.9312" in flat.split("Official")[1]
    assert "0.93 equals the references rounded to 2 decimals" in flat
    assert "$ cd /workspace/code && python train.py --epochs 10" in out and "test accuracy: 0.93" in out
    assert "$ ls results" not in out  # its output does not hold the answer
    assert str(store.artifacts_dir / run_id / "capsule-b-0" / "transcript.json") in out
    assert '"adam"' in out and '"Adam W"' in out
    assert "A change of verdict needs a reason" in out
    assert "2 verdict(s) recorded, 1 skipped, 1 open dispute(s) left." in out
    assert ("accuracy 20.0% automatic, 40.0% verified (2 of 5 valid tasks; provisional: 2 of 4 not-correct answers "
            "reviewed), 1 open disputes") in out

    rows = review_rows(store.path)
    assert [(r[1], r[4], r[6], r[7], r[8]) for r in rows] == [
        ("capsule-b", "alice", "disputed", "correct", "rounded from 0.9312, same result"),
        ("capsule-d", "alice", "disputed", "incorrect", "the figure peaks at 14.2"),
    ]
    after = run_summary(store, run_id)
    assert (after.accuracy, after.verified_accuracy, after.open_disputes) == (0.2, 0.4, 1)
    assert [v.key.question for v in open_disputes(store)] == [BEST_Q]


def test_quit_keeps_what_was_decided_and_the_next_walk_resumes(sample):
    store, run_id = sample
    first = corebench("review", "--store", str(store.path), "--reviewer", "alice", input="c\nrounding\nq\n")
    assert first.exit_code == 0
    assert "1 verdict(s) recorded, 0 skipped, 2 open dispute(s) left." in first.output
    second = corebench("review", "--store", str(store.path), "--reviewer", "bob", input="c\nsame method, other name\n\x04")
    assert "1 of 2" in second.output and BEST_Q in second.output
    assert "Report the test accuracy" not in second.output.split("1 of 2")[1].split("==")[0]
    assert [(r[4], r[1]) for r in review_rows(store.path)] == [("alice", "capsule-b"), ("bob", "capsule-c")]
    assert run_summary(store, run_id).verified_accuracy == 0.6


def test_an_unknown_choice_is_asked_again(sample):
    store, _ = sample
    result = corebench("review", "--store", str(store.path), "--reviewer", "alice", input="maybe\nq\n")
    assert "type c (correct), i (incorrect), s (skip) or q (quit)" in result.output
    assert review_rows(store.path) == []


def test_filters_narrow_the_queue(sample):
    store, run_id = sample
    other = add_run(store, [SampleTask("capsule-b", [QA(ACCURACY_Q, 0.9, [0.9312] * 3, "disputed", "close")])],
                    model="openai:gpt-4.1-mini")
    assert len(open_disputes(store)) == 4
    assert [v.key.run_id for v in open_disputes(store, model="openai:gpt-4.1-mini")] == [other]
    assert len(open_disputes(store, run_id=run_id[:8])) == 3
    assert [v.key.capsule_id for v in open_disputes(store, capsule_id="capsule-d")] == ["capsule-d"]
    result = corebench("review", "--store", str(store.path), "--capsule", "capsule-a")
    assert "No open disputes matching the filters." in result.output


def test_an_unknown_run_is_one_clear_line(sample):
    store, _ = sample
    result = CliRunner().invoke(main, ["review", "--store", str(store.path), "--run", "nope"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: no run 'nope' in {store.path}; list runs with `corebench runs`"]


def test_a_missing_store_is_one_clear_line(tmp_path):
    result = CliRunner().invoke(main, ["review", "log", "--store", str(tmp_path / "none.sqlite")])
    assert result.exit_code == 2 and "no results store here" in result.output
    assert "Traceback" not in result.output


# ----------------------------------------------------------------------------- verdicts and history

def test_a_change_needs_a_reason_and_a_confirmation_does_not(sample):
    store, _ = sample
    disputed = answer_id(store, "capsule-b", ACCURACY_Q)
    with pytest.raises(UserError, match="needs a reason"):
        record_verdict(store, disputed, "correct", reviewer="alice", reason="  ")
    assert history(store, disputed) == []
    graded_correct = answer_id(store, "capsule-a", ACCURACY_Q)
    confirmed = record_verdict(store, graded_correct, "correct", reviewer="alice")
    assert (confirmed.old_status, confirmed.new_status, confirmed.reason) == ("correct", "correct", "")


def test_history_keeps_every_verdict_and_the_latest_stands(sample):
    store, run_id = sample
    answer = answer_id(store, "capsule-c", BEST_Q)
    record_verdict(store, answer, "correct", reviewer="alice", reason="AdamW is Adam with weight decay")
    record_verdict(store, answer, "incorrect", reviewer="bob", reason="the paper says AdamW, not Adam")
    record_verdict(store, answer, "correct", reviewer="carol", reason="the code calls torch.optim.Adam")
    trail = history(store, answer)
    assert [(r.reviewer, r.old_status, r.new_status) for r in trail] == [
        ("alice", "disputed", "correct"), ("bob", "correct", "incorrect"), ("carol", "incorrect", "correct")]
    assert store.latest_status(answer) == "correct"
    assert run_summary(store, run_id).verified_correct == 2  # a and c

    out = corebench("review", "log", "--store", str(store.path), "--answer", str(answer)).output
    assert out.index("alice") < out.index("bob") < out.index("carol")
    assert "disputed -> correct: AdamW is Adam with weight decay" in out
    assert "correct -> incorrect: the paper says AdamW, not Adam" in out
    # The walk shows the history of a reopened answer.
    walk = corebench("review", "--store", str(store.path), "--answer", str(answer), input="s\n").output
    assert walk.count("History") == 3 and "carol (cli) incorrect -> correct" in walk


def test_reopen_puts_a_graded_answer_back_in_the_queue(sample):
    store, run_id = sample
    answer = answer_id(store, "capsule-a", ACCURACY_Q)
    refused = CliRunner().invoke(main, ["review", "reopen", str(answer), "--store", str(store.path)])
    assert refused.exit_code == 2 and "--reason" in refused.output
    done = corebench("review", "reopen", str(answer), "--store", str(store.path), "--reviewer", "dan",
                     "--reason", "0.81 looks like the validation, not the test accuracy")
    assert done.exit_code == 0 and "correct -> disputed by dan" in done.output
    summary = run_summary(store, run_id)
    assert (summary.accuracy, summary.verified_accuracy, summary.open_disputes) == (0.2, 0.0, 4)
    walk = corebench("review", "--store", str(store.path), "--capsule", "capsule-a", "--reviewer", "erin",
                     input="i\nthe log shows test accuracy 0.79\n")
    assert "recorded: disputed -> incorrect by erin" in walk.output
    assert store.latest_status(answer) == "incorrect"


def test_any_answer_can_be_reviewed_directly(sample):
    store, run_id = sample
    answer = answer_id(store, "capsule-d", ACCURACY_Q)  # graded incorrect
    result = corebench("review", "--store", str(store.path), "--answer", str(answer), "--reviewer", "fay",
                       input="c\nthe table in the paper has 0.5 for this split\n")
    assert "recorded: incorrect -> correct by fay" in result.output
    assert [(r.old_status, r.new_status) for r in history(store, answer)] == [("incorrect", "correct")]
    listing = corebench("review", "list", "--store", str(store.path), "--status", "incorrect").output
    assert "capsule-d" not in listing


def test_reviewer_defaults_to_git_user_then_os_user(sample, tmp_path, monkeypatch):
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Grace Hopper\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.chdir(tmp_path)
    assert default_reviewer() == "Grace Hopper"
    store, _ = sample
    corebench("review", "--store", str(store.path), input="c\nrounding\nq\n")
    assert review_rows(store.path)[0][4] == "Grace Hopper"
    gitconfig.write_text("")
    import getpass
    assert default_reviewer() == getpass.getuser()


# ----------------------------------------------------------------------------- evidence

def test_evidence_falls_back_to_the_last_three_commands(tmp_path):
    transcript = tmp_path / "t.json"
    transcript.write_text(json.dumps({"events": [bash_call(f"step {n}", f"out {n}") for n in range(5)]}))
    evidence = find_evidence(transcript, 42.5)
    assert [s.command for s in evidence.steps] == ["step 2", "step 3", "step 4"]
    assert "no output contains the reported value" in evidence.note
    assert "transcript missing" in find_evidence(tmp_path / "gone.json", 1).note


def test_evidence_is_the_last_outputs_holding_the_value_never_the_submit_call(tmp_path):
    transcript = tmp_path / "t.json"
    transcript.write_text(json.dumps([
        bash_call("python fit.py", "r2 = 0.87\n"),
        bash_call("python fit.py --seed 2", "r2 = 0.87\n"),
        {"type": "tool_call", "name": "view_file", "input": {"path": "results/table.csv"},
         "output": "model,r2\nols,0.87\n"},
        bash_call("echo done", "done\n"),
        {"type": "tool_call", "name": "submit", "input": {"answers": {"r2": 0.87}}, "output": "0.87 accepted"},
    ]))
    evidence = find_evidence(transcript, 0.87, limit=2)
    assert [s.command for s in evidence.steps] == ["python fit.py --seed 2", "[view_file] results/table.csv"]
    assert all(s.mentions_answer for s in evidence.steps)


# ----------------------------------------------------------------------------- export / import

def test_export_then_import_into_a_fresh_store_reproduces_verified_accuracy(sample, tmp_path):
    store, run_id = sample
    corebench("review", "--store", str(store.path), "--reviewer", "alice",
              input="c\nrounding\nc\nsame optimizer\ni\nwrong peak\n")
    record_verdict(store, answer_id(store, "capsule-c", BEST_Q), "incorrect", reviewer="bob", reason="AdamW != Adam")
    shared = tmp_path / "verdicts.jsonl"
    exported = corebench("review", "export", str(shared), "--store", str(store.path))
    assert "wrote 4 verdict(s)" in exported.output
    assert all(json.loads(line)["reviewer"] in ("alice", "bob") for line in shared.read_text().splitlines())

    fresh, same_run = dispute_store(tmp_path / "fresh.sqlite", run_id=run_id)
    with fresh:
        assert run_summary(fresh, same_run).verified_accuracy == 0.2
        result = corebench("review", "import", str(shared), "--store", str(fresh.path))
        assert result.exit_code == 0 and "imported 4 verdict(s); 0 already present" in result.output
        mine, theirs = run_summary(store, run_id), run_summary(fresh, run_id)
        assert (theirs.verified_accuracy, theirs.open_disputes) == (mine.verified_accuracy, mine.open_disputes)
        assert theirs.verified_accuracy == 0.4
        assert review_rows(fresh.path) == review_rows(store.path)  # authors and times kept
        assert {row[0] for row in fresh.query("SELECT source FROM reviews")} == {"import"}
        again = corebench("review", "import", str(shared), "--store", str(fresh.path))
        assert "imported 0 verdict(s); 4 already present" in again.output
        assert len(review_rows(fresh.path)) == 4


def test_import_reports_conflicts_and_merges_nothing_there(sample, tmp_path):
    store, run_id = sample
    ours, theirs_q = answer_id(store, "capsule-c", BEST_Q), answer_id(store, "capsule-b", ACCURACY_Q)
    record_verdict(store, ours, "incorrect", reviewer="bob", reason="AdamW is not Adam")
    other, _ = dispute_store(tmp_path / "other.sqlite", run_id=run_id)
    with other:
        record_verdict(other, answer_id(other, "capsule-c", BEST_Q), "correct", reviewer="alice", reason="same")
        record_verdict(other, answer_id(other, "capsule-b", ACCURACY_Q), "correct", reviewer="alice", reason="rounding")
        corebench("review", "export", str(tmp_path / "v.jsonl"), "--store", str(other.path))
    result = CliRunner().invoke(main, ["review", "import", str(tmp_path / "v.jsonl"), "--store", str(store.path)])
    assert result.exit_code == 1
    assert "imported 1 verdict(s)" in result.output
    assert (f"conflict on answer {ours} (capsule-c: {BEST_Q}): here incorrect by bob, "
            f"in {tmp_path / 'v.jsonl'} correct by alice") in result.output
    assert store.latest_status(ours) == "incorrect" and len(history(store, ours)) == 1
    assert store.latest_status(theirs_q) == "correct"


def test_import_lists_verdicts_for_answers_this_store_lacks(sample, tmp_path):
    store, run_id = sample
    line = {"format": "corebench-verdict/1", "run_id": "run-elsewhere", "capsule_id": "capsule-z", "repeat": 0,
            "question": "Q?", "reviewer": "x", "created": "2026-11-01T00:00:00+00:00", "old_status": "disputed",
            "new_status": "correct", "reason": "r", "source": "cli"}
    (tmp_path / "v.jsonl").write_text(json.dumps(line) + "\n")
    result = corebench("review", "import", str(tmp_path / "v.jsonl"), "--store", str(store.path))
    assert "not in this store: run run-elsewhere, capsule-z repeat 0: Q?" in result.output
    assert review_rows(store.path) == []


def test_a_malformed_verdicts_file_is_one_clear_line(sample, tmp_path):
    store, _ = sample
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"run_id": "x"}\n')
    result = CliRunner().invoke(main, ["review", "import", str(bad), "--store", str(store.path)])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {bad} line 1: not a verdict (missing capsule_id")
    bad.write_text("not json\n")
    result = CliRunner().invoke(main, ["review", "import", str(bad), "--store", str(store.path)])
    assert result.exit_code == 2 and f"{bad} line 1: not JSON" in result.output


# ----------------------------------------------------------------------------- regrade

STRICT_GRADER = '''
"""The official rule alone: no disputes."""
from corebench_runner.grading.official_rule import check
from corebench_runner.records import Verdict, VerdictStatus


class Strict:
    name = "strict"

    def grade(self, question, reported, *, reported_present=True):
        if not reported_present:
            return Verdict(VerdictStatus.INCORRECT, "not reported")
        decision = check(list(question.runs), reported)
        return Verdict(VerdictStatus.CORRECT if decision.correct else VerdictStatus.INCORRECT, decision.reason)


GRADER = Strict()
'''


@pytest.fixture
def suite_with_strict_grader(tmp_path):
    suite = tmp_path / "suite"
    (suite / "graders").mkdir(parents=True)
    (suite / "capsules").mkdir()
    (suite / "graders" / "strict.py").write_text(STRICT_GRADER)
    return suite


def test_regrade_keeps_human_verdicts_and_lists_disagreements(sample, suite_with_strict_grader):
    store, run_id = sample
    settled = answer_id(store, "capsule-b", ACCURACY_Q)
    record_verdict(store, settled, "correct", reviewer="alice", reason="rounding")
    result = corebench("--suite", str(suite_with_strict_grader), "regrade", run_id[:10], "--grader", "strict",
                       "--store", str(store.path), "--reviewer", "ops")
    assert result.exit_code == 0, result.output
    assert "regraded 7 answer(s) with strict; 3 changed" in result.output
    assert (f"answer {settled} (capsule-b: {ACCURACY_Q}): reviewed correct, grader now says incorrect"
            in result.output)
    # The human verdict still stands; the grader's changes are in the trail with their reason.
    assert store.latest_status(settled) == "correct"
    fig = answer_id(store, "capsule-d", FIG_Q)
    assert [(r.reviewer, r.source, r.old_status, r.new_status) for r in history(store, fig)] == [
        ("ops", "regrade", "disputed", "incorrect")]
    assert "regraded with strict: 14 is outside" in history(store, fig)[0].reason
    summary = run_summary(store, run_id)
    assert (summary.grader, summary.accuracy, summary.verified_accuracy, summary.open_disputes) == (
        "strict", 0.2, 0.4, 0)
    assert summary.outcomes["incorrect"] == 3 and "disputed" not in summary.outcomes
    assert ("accuracy 20.0% automatic, 40.0% verified (2 of 5 valid tasks; provisional: 1 of 4 not-correct answers "
            "reviewed), 0 open disputes") in result.output
    # Regrade rows are not human verdicts: a second regrade finds nothing new to say.
    again = corebench("--suite", str(suite_with_strict_grader), "regrade", run_id, "--grader", "strict",
                      "--store", str(store.path))
    assert "0 changed" in again.output and len(review_log(store)) == 3


def test_regrade_with_an_unknown_grader_names_the_choices(sample, suite_with_strict_grader):
    store, run_id = sample
    result = CliRunner().invoke(main, ["--suite", str(suite_with_strict_grader), "regrade", run_id,
                                       "--grader", "nope", "--store", str(store.path)])
    assert result.exit_code == 2 and "unknown grader 'nope'" in result.output and "strict" in result.output


def test_regrade_recomputes_graded_task_outcomes_but_not_failures(sample):
    store, run_id = sample

    class Lenient:
        def grade(self, question, reported, *, reported_present=True):
            from corebench_runner.records import Verdict, VerdictStatus
            return Verdict(VerdictStatus.CORRECT, f"lenient on {question.text[:10]}")

    result = regrade(store, run_id, Lenient(), "lenient", reviewer="ops")
    assert len(result.changed) == 4 and result.disagreements == []
    assert run_summary(store, run_id).accuracy == 0.8  # every graded task; the timeout stays wrong


def test_a_grader_that_crashes_leaves_the_answer_for_a_person(sample):
    store, run_id = sample

    class Broken:
        def grade(self, question, reported, *, reported_present=True):
            raise ValueError("cannot parse 'Adam W'") if isinstance(reported, str) else RuntimeError("boom")

    regrade(store, run_id, Broken(), "broken", reviewer="ops")
    disputes = open_disputes(store, run_id=run_id)
    assert len(disputes) == 7
    assert "the grader failed: ValueError: cannot parse 'Adam W'" in {
        v.auto_reason for v in disputes}
    assert run_summary(store, run_id).accuracy == 0.0


def test_imported_human_verdicts_stand_over_local_regrade_rows(sample, suite_with_strict_grader, tmp_path):
    store, run_id = sample
    corebench("--suite", str(suite_with_strict_grader), "regrade", run_id, "--grader", "strict",
              "--store", str(store.path))
    assert run_summary(store, run_id).verified_accuracy == 0.2  # b's rounding now counts as wrong
    other, _ = dispute_store(tmp_path / "other.sqlite", run_id=run_id)
    with other:
        record_verdict(other, answer_id(other, "capsule-b", ACCURACY_Q), "correct", reviewer="alice",
                       reason="rounding")
        export_file = tmp_path / "v.jsonl"
        corebench("review", "export", str(export_file), "--store", str(other.path))
    result = corebench("review", "import", str(export_file), "--store", str(store.path))
    assert result.exit_code == 0 and "imported 1 verdict(s)" in result.output and "conflict" not in result.output
    assert run_summary(store, run_id).verified_accuracy == 0.4


def test_machine_rows_keep_their_source_across_export_and_import(sample, tmp_path):
    store, run_id = sample
    flagged = answer_id(store, "capsule-a", ACCURACY_Q)
    with store.transaction() as conn:  # what a shortcut monitor writes (diagnostics)
        conn.execute("INSERT INTO reviews (answer_id, reviewer, created, old_status, new_status, reason, source) "
                     "VALUES (?, 'shortcut-monitor', '2026-11-20T10:00:00+00:00', 'correct', 'disputed', "
                     "'flagged: read results/ instead of running', 'monitor')", (flagged,))
    record_verdict(store, flagged, "correct", reviewer="alice", reason="it ran the code too")
    corebench("review", "export", str(tmp_path / "v.jsonl"), "--store", str(store.path))
    fresh, _ = dispute_store(tmp_path / "fresh.sqlite", run_id=run_id)
    with fresh:
        corebench("review", "import", str(tmp_path / "v.jsonl"), "--store", str(fresh.path))
        assert [(r.reviewer, r.source) for r in history(fresh, answer_id(fresh, "capsule-a", ACCURACY_Q))] == [
            ("shortcut-monitor", "monitor"), ("alice", "import")]
        assert run_summary(fresh, run_id).verified_accuracy == run_summary(store, run_id).verified_accuracy
