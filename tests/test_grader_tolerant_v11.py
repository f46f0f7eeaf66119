"""tolerant-v1.1: the v1.1 verdict first, disputes a reviewer can act on, never `correct` on its own."""

from __future__ import annotations

import importlib.util
import json
import random
import subprocess
from pathlib import Path

import pytest

from corebench_runner.capsules.corebench_import import decrypt
from corebench_runner.capsules.format import Question
from corebench_runner.capsules.plugins import load_plugin
from corebench_runner.grading.loop import grade_report
from corebench_runner.grading.tasks_json import task_questions
from corebench_runner.records import VerdictStatus
from support_grading import answer_reports
from support_grading_v11 import v11_tasks

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "v11_disputes.json.gpg"
TOLERANT = load_plugin("graders", "tolerant-v1.1")
EXACT = load_plugin("graders", "corebench-v1.1")
CORRECT, INCORRECT, DISPUTED = VerdictStatus.CORRECT, VerdictStatus.INCORRECT, VerdictStatus.DISPUTED


def question(fragment: str) -> Question:
    for task in v11_tasks():
        for q in task_questions(task["capsule_id"], task["results"]).questions:
            if fragment in q.text:
                return q
    raise LookupError(fragment)


def test_the_v11_verdict_stands_and_disputes_only_replace_incorrect():
    rng = random.Random(3)
    seen = {CORRECT: 0, INCORRECT: 0, DISPUTED: 0}
    for task in v11_tasks():
        questions = task_questions(task["capsule_id"], task["results"]).questions
        for report in answer_reports(task, rng, 25):
            exact = grade_report(EXACT, questions, report)
            tolerant = grade_report(TOLERANT, questions, report)
            for e, t in zip(exact.grades, tolerant.grades):
                seen[t.status] += 1
                if e.status is CORRECT:
                    assert t.status is CORRECT
                else:
                    assert t.status in (INCORRECT, DISPUTED), (t.question, t.reason)
    assert all(seen.values())


@pytest.mark.parametrize("fragment, answer, words", [
    ("portion relevant in both corpora", "44%", "percentage written for the fraction"),
    ("percent AUC-Improvement", 0.25, "fraction written for the percentage"),
    ("load power (Pload) for Transducer F", "1345.61 W", 'unit or words \\"W\\"'),
    ("point estimate (deaths averted synthetic)", "280,000 deaths", "matches the reference"),
    ("best accuracy of the hybrid filter", 0.9506, "rounded to 4 decimal place(s)"),
    ("final AUC after training", 0.912, "stochastic computation may drift"),
    ("higher median walking speed", "Walk task", 'label \\"Walk\\" with extra words'),
    ("mapping with the higher execution time", "semantic based", "written with other spacing"),
    ("1013983, IsNGGMatch", "yes", "says the same as the reference"),
    ("more than 2 features with accuracy exceeding", True, "says the same as the reference"),
    ("Pearson correlation coefficients", "Endo.1 and Smooth.1", "written as text"),
    ("95% interval (synthetic)", "196,000 to 364,000", "written as text"),
    ("Kruskal-Wallis for Group 0-2", "2.34e-10", "3 significant figure(s)"),
])
def test_right_in_spirit_answers_are_disputed_with_a_reason(fragment, answer, words):
    q = question(fragment)
    assert EXACT.grade(q, answer).status is INCORRECT
    verdict = TOLERANT.grade(q, answer)
    assert verdict.status is DISPUTED, verdict.reason
    assert words in json.dumps(verdict.reason)[1:-1] and "v1.1 rule:" in verdict.reason


@pytest.mark.parametrize("fragment, answer", [
    ("portion relevant in both corpora", -0.44), ("portion relevant in both corpora", 4.4),
    ("percent AUC-Improvement", 26), ("f1 score for the Musk1+ dataset with the svm", 79.813),
    ("load power (Pload) for Transducer F", "1345613.67 mW"), ("final AUC after training", 0.88),
    ("number of Included Articles After.OS", 265), ("higher median walking speed", "Search"),
    ("higher median walking speed", "not Walk"), ("1013983, IsNGGMatch", "no"),
    ("Pearson correlation coefficients", ["Smooth.1", "Fibro.1"]), ("95% interval (synthetic)", [196000, 365000]),
    ("Kruskal-Wallis for Group 0-2", "2.43e-10"), ("university ranked #1", "Harvard University"),
])
def test_near_misses_stay_incorrect(fragment, answer):
    verdict = TOLERANT.grade(question(fragment), answer)
    assert verdict.status is INCORRECT, verdict.reason


def test_a_near_identical_key_is_disputed_when_its_answer_is_right():
    task = next(t for t in v11_tasks() if t["capsule_id"] == "capsule-1724988")
    questions = task_questions(task["capsule_id"], task["results"]).questions
    walk, search = (q.text for q in questions)
    graded = grade_report(TOLERANT, questions, {walk.upper(): "Walk", search: "Walk"})
    assert [g.status for g in graded.grades] == [DISPUTED, INCORRECT]
    assert "differs from the question only in case" in graded.grades[0].reason


def _disputes_benchmark():
    spec = importlib.util.spec_from_file_location("disputes_benchmark", REPO / "benchmarks" / "disputes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_labelled_fixture_meets_the_review_goals():
    entries = json.loads(decrypt(FIXTURE))
    assert len(entries) >= 100 and {e["label"] for e in entries} == {"in_spirit", "wrong"}
    forms = {e["form"] for e in entries if e["label"] == "wrong"}
    for near_miss in ("wrong sign", "another row's number", "off by a factor of 10", "another label"):
        assert near_miss in forms
    result = _disputes_benchmark().measure(entries)
    assert result["totals"]["in_spirit"] >= 100 and result["totals"]["wrong"] >= 100
    assert result["shares"]["in_spirit"] >= 0.9
    assert result["shares"]["wrong"] <= 0.10


def test_answer_files_stay_encrypted_in_the_repository():
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.split()
    assert "corebench_runner/data/answer_aliases_v1.1.json.gpg" in tracked
    assert "tests/fixtures/v11_disputes.json.gpg" in tracked
    for name in tracked:
        assert not name.endswith(("answer_aliases.json", "answer_aliases_v1.1.json", "v11_disputes.json",
                                  "croissant_mainline.json", "croissant_ood.json")), name
    for name in ("corebench_runner/data/answer_aliases_v1.1.json.gpg", "tests/fixtures/v11_disputes.json.gpg"):
        assert b"Kruskal" not in (REPO / name).read_bytes()
