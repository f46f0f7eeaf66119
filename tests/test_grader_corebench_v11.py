"""The corebench-v1.1 grader against every question of the shared v1.1 files and upstream's rule restated."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import t as student_t

from corebench_runner.capsules.format import Question
from corebench_runner.capsules.plugins import load_plugin
from corebench_runner.cli import main
from corebench_runner.grading.loop import grade_report
from corebench_runner.grading.official_rule_v11 import decimal_places, widened_interval
from corebench_runner.grading.tasks_json import task_questions
from corebench_runner.records import VerdictStatus
from support_grading import answer_reports
from support_grading_v11 import MAINLINE, OOD, alias_tables, upstream_v11_counts, v11_tasks

GRADER = load_plugin("graders", "corebench-v1.1")
CORRECT, INCORRECT = VerdictStatus.CORRECT, VerdictStatus.INCORRECT


def all_questions() -> list[Question]:
    return [q for task in v11_tasks() for q in task_questions(task["capsule_id"], task["results"]).questions]


def status(question: Question, value) -> VerdictStatus:
    return GRADER.grade(question, value).status


def test_the_shared_files_hold_58_tasks_and_every_reference_answer_is_correct():
    tasks = v11_tasks()
    assert len(tasks) == 58
    questions = all_questions()
    assert len(questions) == 84
    for q in questions:
        assert status(q, q.runs[0]) is CORRECT, (q.capsule_id, q.text)


@pytest.mark.parametrize("value, places", [(96.125, 3), (100, 0), (0.1, 1), (1e-10, 10), (True, 0),
                                           (280000, 0), (1.31, 2), (2.5e3, 0), (float("nan"), 0)])
def test_decimal_places_as_upstream_counts_them(value, places):
    assert decimal_places(value) == places


def test_every_numeric_question_is_right_at_its_widened_bounds_and_wrong_just_beyond_isclose():
    numeric = [q for q in all_questions() if isinstance(q.runs[0], (int, float))]
    assert len(numeric) == 45
    for q in numeric:
        interval = widened_interval(q.runs)
        for bound, direction in ((float(interval.lower), -1), (float(interval.upper), 1)):
            assert status(q, bound) is CORRECT, (q.text, bound)
            reach = 1e-8 + 1e-5 * abs(bound)  # numpy.isclose's default tolerance around the bound
            assert status(q, bound + direction * reach * 0.9) is CORRECT, (q.text, bound)
            assert status(q, bound + direction * reach * 1.2) is INCORRECT, (q.text, bound)
        assert status(q, str(q.runs[0]) + "%") is CORRECT  # '%' is stripped, as in v1
        assert status(q, -abs(float(q.runs[0])) - 1) is INCORRECT  # wrong sign


def test_rounding_to_the_references_own_decimals_now_counts():
    q = next(q for q in all_questions() if q.text.startswith("From table 1, report the portion relevant"))
    assert q.runs == (0.44, 0.44, 0.44)
    assert status(q, 0.4449) is CORRECT  # inside [0.435, 0.445]: the original rule said incorrect
    assert status(q, 0.445) is CORRECT
    assert status(q, 0.4451) is INCORRECT
    assert status(q, 0.44 * 100) is INCORRECT  # a percentage for the fraction stays wrong


def test_stochastic_runs_widen_by_the_finest_decimal():
    q = next(q for q in all_questions() if "f1 score for the Musk1+ dataset with the svm" in q.text)
    interval = widened_interval(q.runs)
    assert interval.widening == 0.5 * 10 ** -3
    n = 3
    half = student_t.ppf(0.975, n - 1) * np.std(q.runs, ddof=1) * math.sqrt(1 + 1 / n)
    assert float(interval.upper) == pytest.approx(float(np.mean(q.runs)) + half + 0.0005, rel=1e-12)


def test_every_string_alias_is_accepted_for_its_own_capsule_only():
    strings, _ = alias_tables()
    by_key = {(q.capsule_id, q.text): q for q in all_questions()}
    checked = 0
    for capsule_id, questions in strings.items():
        for text, accepted in questions.items():
            q = by_key[(capsule_id, text)]
            for alias in accepted:
                assert status(q, alias) is CORRECT
                assert status(q, alias.upper()) is CORRECT
                assert status(q, f"{alias}!") is INCORRECT  # no clean-up of punctuation, as upstream
                other = Question(q.text, q.runs, q.vision, capsule_id="capsule-0000000")
                assert status(other, alias) is (CORRECT if alias.lower() == str(q.runs[0]).lower() else INCORRECT)
                checked += 1
    assert checked == 11


def test_aliases_replace_the_reference_only_where_listed():
    q = next(q for q in all_questions() if q.capsule_id == "capsule-3639589")
    assert q.runs[0] == "blue"
    assert status(q, "green") is CORRECT and status(q, "red") is INCORRECT
    p_value = next(q for q in all_questions() if q.text.startswith("Given the Kruskal-Wallis"))
    assert status(p_value, "1.0728737137836577e-09") is CORRECT
    assert status(p_value, 2.0438111587013562e-09) is CORRECT  # a number is compared as its str()
    assert status(p_value, "2.34e-10") is INCORRECT


@pytest.mark.parametrize("value, expected", [
    (True, "True"), (False, "False"), ("True", "True"), ("true", "True"), ("FALSE", "False"), (1, "True"),
    (0, "False"), (1.0, "True"), ("1", "True"), ("0", "False"), ("yes", None), (2, None), ("Yes", None)])
def test_booleans_for_true_false_references(value, expected):
    questions = [q for q in all_questions() if q.capsule_id == "capsule-2242462"]
    true_q, false_q = (next(q for q in questions if q.runs[0] == ref) for ref in ("True", "False"))
    assert status(true_q, value) is (CORRECT if expected == "True" else INCORRECT)
    assert status(false_q, value) is (CORRECT if expected == "False" else INCORRECT)


def test_list_aliases_accept_any_order_and_case_and_nothing_else():
    _, lists = alias_tables()
    q = next(q for q in all_questions() if q.capsule_id == "capsule-9477017")
    for subset in lists["capsule-9477017"][q.text]:
        assert status(q, subset) is CORRECT
        assert status(q, list(reversed(subset))) is CORRECT
        assert status(q, [s.upper() for s in subset]) is CORRECT
        assert status(q, subset + subset) is CORRECT  # a set: repeats do not matter upstream
    assert status(q, ["Smooth.1"]) is INCORRECT
    assert status(q, ["Smooth.1", "Endo.1", "B"]) is INCORRECT
    assert status(q, "Smooth.1, Endo.1") is INCORRECT
    uncomparable = GRADER.grade(q, [1, 2])
    assert uncomparable.status is INCORRECT and "stops" in uncomparable.reason


def test_lists_without_aliases_still_need_the_exact_list():
    q = next(q for q in all_questions() if q.capsule_id == "capsule-7655932" and isinstance(q.runs[0], list))
    assert status(q, [196000, 364000]) is CORRECT
    assert status(q, [364000, 196000]) is INCORRECT
    assert status(q, ["196000", "364000"]) is INCORRECT


def test_the_walk_stops_at_the_first_uncomparable_answer_including_a_list_alias():
    task = next(t for t in v11_tasks() if t["capsule_id"] == "capsule-0152700")
    questions = task_questions(task["capsule_id"], task["results"]).questions
    right = task["results"][0]
    first, second, third = list(right)
    report = {first: "yes", second: "ankle", third: right[third]}
    assert grade_report(GRADER, questions, report, upstream_stop=True).task_correct
    list_task = next(t for t in v11_tasks() if t["capsule_id"] == "capsule-9477017")
    runs = list_task["results"]
    key = list(runs[0])[0]
    runs = [dict(run, **{"Report x.": 1.5}) for run in runs]
    questions = task_questions("capsule-9477017", runs).questions
    report = {key: [3], "Report x.": 1.5}
    stopped = grade_report(GRADER, questions, report, upstream_stop=True)
    assert [g.status for g in stopped.grades] == [INCORRECT, INCORRECT]
    assert "upstream stopped" in stopped.grades[1].reason
    counts = upstream_v11_counts("capsule-9477017", runs, report)
    assert counts["correct_written"] == 0
    free = grade_report(GRADER, questions, report)
    assert free.grades[1].status is CORRECT


def test_agrees_with_upstream_v11_on_thousands_of_answers():
    rng = random.Random(11)
    compared = disagreements = 0
    for task in v11_tasks():
        questions = task_questions(task["capsule_id"], task["results"]).questions
        reports = answer_reports(task, rng, 60)
        strings, lists = alias_tables()
        for text, accepted in strings.get(task["capsule_id"], {}).items():
            reports += [{text: a} for a in accepted] + [{text: a.upper() + "!"} for a in accepted]
        for text, subsets in lists.get(task["capsule_id"], {}).items():
            reports += [{text: list(s)} for s in subsets] + [{text: "Smooth.1"}, {text: [None]}]
        for q in questions:  # the edges v1.1 added: widened bounds, isclose, booleans
            if isinstance(q.runs[0], (int, float)):
                interval = widened_interval(q.runs)
                for bound in (float(interval.lower), float(interval.upper)):
                    for step in (-2e-5, -1e-6, 0.0, 1e-6, 2e-5):
                        reports.append({q.text: bound * (1 + step)})
            elif str(q.runs[0]).lower() in ("true", "false", "yes"):
                reports += [{q.text: v} for v in (1, 0, 1.0, "1", "0", True, False, "true", 2, "yes", None)]
        for report in reports:
            want = upstream_v11_counts(task["capsule_id"], task["results"], report)
            got = grade_report(GRADER, questions, report, upstream_stop=True)
            compared += 1
            if (got.correct_written, got.correct_vision) != (want["correct_written"], want["correct_vision"]):
                disagreements += 1
                print(task["capsule_id"], json.dumps(report, default=str)[:300], want, got.correct_written,
                      got.correct_vision)
    assert compared > 3000
    assert disagreements == 0


def test_grade_command_takes_a_croissant_file(tmp_path):
    task = next(t for t in v11_tasks() if t["capsule_id"] == "capsule-2151475")
    university, journal = list(task["results"][0])
    answers = [{"capsule_id": "capsule-2151475", "report": {university: "University of Chicago", journal: "jel"}},
               {"capsule_id": "capsule-2151475", "report": {university: "Harvard", journal: "JEL"}},
               {"capsule_id": "capsule-8185407", "report": {
                   "Report the load power (Pload) for Transducer F from the measured data results. Ignore units.":
                   "1345.6137"}}]
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(answers))
    runner = CliRunner()
    for tasks_file in (OOD, MAINLINE):
        result = runner.invoke(main, ["grade", "--grader", "corebench-v1.1", "--tasks", str(tasks_file),
                                      "--answers", str(path), "--json"])
        if tasks_file == MAINLINE:  # the answers name ood capsules: one clear line, no traceback
            assert result.exit_code != 0 and "not in the tasks file" in result.output
            continue
        assert result.exit_code == 0, result.output
        graded = json.loads(result.output)
        assert [g["task_correct"] for g in graded] == [True, False, True]
    plain = tmp_path / "core_test.json"
    plain.write_text(json.dumps(v11_tasks()))
    result = runner.invoke(main, ["grade", "--grader", "corebench-v1.1", "--tasks", str(plain), "--answers", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 of 3 answer entries correct" in result.output
    original = runner.invoke(main, ["grade", "--grader", "corebench", "--tasks", str(plain), "--answers", str(path)])
    assert "0 of 3 answer entries correct" in original.output  # v1 knows no aliases and no widening
