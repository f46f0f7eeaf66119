"""One answer, one verdict: `corebench run`, `corebench regrade` and `corebench grade` grade a report
through the same loop, so a user who grades the same report three ways reads the same verdicts.

Real runs (the local sandbox, a scaffold plugin of the test's own), a real SQLite store, the CLI as
a user types it; `corebench grade` is given the same capsule as upstream task JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.capsules.suite import Suite
from corebench_runner.cli import main
from support_run import make_suite, show_json

MEAN = "Report the mean petal length, rounded to 4 decimal places."
SPECIES = "Report the name of the species with the widest sepals."
CLUSTERS = "From the figure, report the number of clusters visible."

# The agent's report: the mean under a key that differs from the question only in case and
# punctuation (the right value), the species under a near-identical key too (a wrong value).
REPORT = {"report the mean petal length rounded to 4 decimal places": 3.7333,
          "Report the name of the species with the widest sepals": "virginica",
          CLUSTERS: 3}

# The local sandbox says, rightly, that it is no sandbox; these tests need none.
pytestmark = pytest.mark.filterwarnings("ignore:the local sandbox is not a sandbox")

SCAFFOLD = '''
"""Writes the report.json given in $REPORT_JSON, then submits."""
import json
import os

from corebench_runner.records import Submission


class Reporter:
    name = "reporter"
    version = "1"
    needs_model = False
    always_uses_capsule_environment = False

    def run(self, task, sandbox, model, limits):
        text = os.environ["REPORT_JSON"]
        sandbox.write_file(task.report_path, text)
        return Submission(answers=json.loads(text), transcript=[{"type": "note", "text": "reported"}], steps=1)


SCAFFOLD = Reporter()
'''

# A grader with a bug: it raises on one value and otherwise defers to the tolerant grader.
FRAGILE_GRADER = '''
from corebench_runner.capsules.plugins import load_plugin

TOLERANT = load_plugin("graders", "tolerant")


class Fragile:
    name = "fragile"

    def grade(self, question, reported, *, reported_present=True):
        if reported == "setosa":
            raise ValueError("cannot compare 'setosa'")
        return TOLERANT.grade(question, reported, reported_present=reported_present)


GRADER = Fragile()
'''


@pytest.fixture
def suite(tmp_path: Path, monkeypatch) -> Path:
    root = make_suite(tmp_path / "suite", ["near-a"])
    (root / "scaffolds" / "reporter.py").write_text(SCAFFOLD)
    (root / "graders").mkdir()
    (root / "graders" / "fragile.py").write_text(FRAGILE_GRADER)
    return root


def corebench(suite: Path, *args: str):
    result = CliRunner().invoke(main, ["--suite", str(suite), *args])
    assert result.exit_code == 0, result.output
    return result


def verdicts_of_run(suite: Path, store: Path, run_id: str) -> dict[str, tuple[str, str]]:
    (task,) = show_json(CliRunner(), store, run_id)["tasks"]
    return {q["question"]: (q["status"], q["reason"]) for q in task["questions"]}


def run_once(suite: Path, store: Path, report: dict, grader: str, monkeypatch) -> str:
    """`corebench run` of the one capsule with the given report; returns the run id."""
    monkeypatch.setenv("REPORT_JSON", json.dumps(report))
    corebench(suite, "run", "--scaffold", "reporter", "--capsules", "near-a", "--sandbox", "local",
              "--grader", grader, "--store", str(store), "--quiet")
    with_ids = json.loads(corebench(suite, "runs", "--json", "--store", str(store)).output)
    return with_ids[0]["id"]  # newest first


def graded_by_grade_command(suite: Path, tmp_path: Path, report: dict, grader: str) -> dict[str, tuple[str, str]]:
    """`corebench grade` on the same capsule, written as upstream task JSON, and the same report."""
    capsule = Suite(suite).load("near-a")
    runs = len(capsule.questions[0].runs)
    tasks = [{"capsule_id": "near-a", "results": [{q.text: q.runs[i] for q in capsule.questions}
                                                  for i in range(runs)]}]
    (tmp_path / "tasks.json").write_text(json.dumps(tasks))
    (tmp_path / "answers.json").write_text(json.dumps([{"capsule_id": "near-a", "report": report}]))
    result = corebench(suite, "grade", "--tasks", str(tmp_path / "tasks.json"), "--answers",
                       str(tmp_path / "answers.json"), "--grader", grader, "--json")
    (entry,) = json.loads(result.output)
    return {q["question"]: (q["status"], q["reason"]) for q in entry["questions"]}


def three_ways(suite: Path, tmp_path: Path, report: dict, grader: str, monkeypatch) -> list[dict]:
    """The verdicts a run, a regrade and `grade` give the same report under `grader`."""
    store = tmp_path / "results.sqlite"
    graded_in_run = verdicts_of_run(suite, store, run_once(suite, store, report, grader, monkeypatch))
    # Regraded: a run graded by the official rule, then regraded with `grader`.
    other = run_once(suite, store, report, "corebench", monkeypatch)
    corebench(suite, "regrade", other, "--grader", grader, "--store", str(store), "--reviewer", "ops")
    regraded = verdicts_of_run(suite, store, other)
    return [graded_in_run, regraded, graded_by_grade_command(suite, tmp_path, report, grader)]


def test_an_answer_under_a_near_identical_key_gets_one_verdict_from_run_regrade_and_grade(suite, tmp_path,
                                                                                          monkeypatch):
    in_run, regraded, graded = three_ways(suite, tmp_path, REPORT, "tolerant", monkeypatch)
    assert in_run == regraded == graded
    status, reason = in_run[MEAN]
    assert status == "disputed"
    assert "report the mean petal length rounded to 4 decimal places" in reason  # names the key it found
    status, reason = in_run[SPECIES]
    assert status == "incorrect" and "has a wrong answer too" in reason
    assert in_run[CLUSTERS][0] == "correct"


def test_a_grader_that_raises_disputes_that_answer_alike_in_run_regrade_and_grade(suite, tmp_path, monkeypatch):
    report = {MEAN: 3.7333, SPECIES: "setosa", CLUSTERS: 3}
    in_run, regraded, graded = three_ways(suite, tmp_path, report, "fragile", monkeypatch)
    assert in_run == regraded == graded
    assert in_run[SPECIES] == ("disputed", "the grader failed: ValueError: cannot compare 'setosa'")
    assert in_run[MEAN][0] == in_run[CLUSTERS][0] == "correct"  # the rest of the report is graded as ever


STOP_FAILS_GRADER = '''
from corebench_runner.capsules.plugins import load_plugin

OFFICIAL = load_plugin("graders", "corebench")


class StopFails:
    name = "stop-fails"

    def grade(self, question, reported, *, reported_present=True):
        return OFFICIAL.grade(question, reported, reported_present=reported_present)

    def upstream_stop_point(self, questions, report):
        raise KeyError("runs")


GRADER = StopFails()
'''


def test_a_grader_whose_upstream_stop_point_fails_leaves_every_answer_for_a_person(suite, tmp_path):
    (suite / "graders" / "stop_fails.py").write_text(STOP_FAILS_GRADER)
    capsule = Suite(suite).load("near-a")
    tasks = [{"capsule_id": "near-a", "results": [{q.text: q.runs[i] for q in capsule.questions} for i in range(3)]}]
    (tmp_path / "tasks.json").write_text(json.dumps(tasks))
    (tmp_path / "answers.json").write_text(json.dumps([{"capsule_id": "near-a", "report": {MEAN: 3.7333}}]))
    result = corebench(suite, "grade", "--tasks", str(tmp_path / "tasks.json"), "--answers",
                       str(tmp_path / "answers.json"), "--grader", "stop_fails", "--upstream-stop", "--json")
    (entry,) = json.loads(result.output)
    assert {(q["status"], q["reason"]) for q in entry["questions"]} == {
        ("disputed", "the grader failed: KeyError: 'runs'")}
