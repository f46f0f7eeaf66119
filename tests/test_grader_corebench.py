"""The official grader: upstream CORE-Bench's rule, on real questions from core_train.json."""

from __future__ import annotations

import math
import random
import statistics

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.stats import t as student_t

from corebench_runner.capsules.format import Question
from corebench_runner.capsules.plugins import load_plugin
from corebench_runner.grading import official_rule
from corebench_runner.grading.loop import grade_report
from corebench_runner.grading.tasks_json import task_questions
from corebench_runner.records import VerdictStatus
from support_grading import answer_reports, task_by_id, train_tasks, upstream_counts, upstream_task_correct

GRADER = load_plugin("graders", "corebench")
CORRECT, INCORRECT = VerdictStatus.CORRECT, VerdictStatus.INCORRECT

# Real questions from core_train.json.
AUC_TASK = "capsule-7038571"  # one numeric question, three runs that differ
AUC = "Report the average AUC score of Had using the CTGCN-C method on the UCI dataset."


def real_question(capsule_id: str, text: str) -> Question:
    task = task_by_id(capsule_id)
    return next(q for q in task_questions(capsule_id, task["results"]).questions if q.text == text)


def first_question(kind: type, same_runs: bool, where=lambda q: True) -> Question:
    for task in train_tasks():
        for q in task_questions(task["capsule_id"], task["results"]).questions:
            if type(q.runs[0]) is kind and (len(set(q.runs)) == 1) == same_runs and where(q):
                return q
    raise AssertionError(f"core_train.json has no such {kind.__name__} question")


def independent_interval(runs) -> tuple[float, float]:
    """The textbook formula with the standard library's statistics, not numpy."""
    n, mean, sd = len(runs), statistics.fmean(runs), statistics.stdev(runs)
    half = student_t.ppf(0.975, n - 1) * sd * math.sqrt(1 + 1 / n)
    return mean - half, mean + half


def grade(question: Question, value):
    return GRADER.grade(question, value)


# ------------------------------------------------------------ the interval

def test_interval_matches_the_textbook_formula_for_every_numeric_question_in_core_train():
    checked = 0
    for task in train_tasks():
        for q in task_questions(task["capsule_id"], task["results"]).questions:
            if official_rule.reference_kind(q.runs[0]) != official_rule.NUMERIC:
                continue
            lower, upper = official_rule.prediction_interval(q.runs)
            want_lower, want_upper = independent_interval(q.runs)
            assert lower == pytest.approx(want_lower, rel=1e-9, abs=1e-12)
            assert upper == pytest.approx(want_upper, rel=1e-9, abs=1e-12)
            checked += 1
    assert checked >= 70


@pytest.mark.parametrize("runs", [2, 3, 5, 31, 32, 60])
def test_the_interval_is_scipys_bit_for_bit_with_or_without_the_rules_own_t_table(runs):
    # Up to 31 runs the rule reads t(0.975, n-1) from its table instead of loading scipy.
    values = [1.0 + 0.37 * i ** 1.5 for i in range(runs)]
    official_rule._cached_interval.cache_clear()
    t_value = float(student_t.ppf(0.975, runs - 1))
    lower, upper = official_rule.prediction_interval(values)
    mean, std = np.mean(values), np.std(values, ddof=1)
    half = t_value * std * math.sqrt(1 + 1 / runs)
    assert (lower, upper) == (mean - half, mean + half)
    assert official_rule.needs_scipy(runs) == (runs > 31)


def test_values_just_inside_the_interval_are_correct_and_just_outside_are_not():
    q = real_question(AUC_TASK, AUC)
    lower, upper = official_rule.prediction_interval(q.runs)
    assert upper - lower > 0.01  # these three runs really differ
    width = upper - lower
    assert grade(q, lower + width * 1e-6).status is CORRECT
    assert grade(q, upper - width * 1e-6).status is CORRECT
    assert grade(q, statistics.fmean(q.runs)).status is CORRECT
    outside = grade(q, upper + width * 1e-3)
    assert outside.status is INCORRECT
    assert "outside the 95% prediction interval" in outside.reason and "3 runs" in outside.reason


def test_a_single_reference_run_has_no_interval_so_nothing_is_correct():
    q = Question("Report the accuracy.", (0.5,))
    assert official_rule.prediction_interval(q.runs) is None
    verdict = grade(q, 0.5)
    assert verdict.status is INCORRECT and "single run" in verdict.reason


def test_zero_spread_reference_demands_the_exact_value():
    q = first_question(float, same_runs=True, where=lambda q: round(q.runs[0], 2) != q.runs[0])
    assert grade(q, q.runs[0]).status is CORRECT
    rounded = round(q.runs[0], 2)
    assert rounded != q.runs[0]
    verdict = grade(q, rounded)
    assert verdict.status is INCORRECT and "all give" in verdict.reason


def test_the_mean_of_equal_floats_is_used_exactly_as_upstream_computes_it():
    # numpy's mean of three 0.1s is 0.10000000000000002; upstream's interval still holds 0.1
    # only because the spread of those runs is not exactly zero either. Both follow numpy.
    q = Question("Report the rate.", (0.1, 0.1, 0.1))
    assert (grade(q, 0.1).status is CORRECT) == bool(upstream_counts([{"r": 0.1}] * 3, {"r": 0.1})["correct_written"])


# ------------------------------------------------------------ odd reported values

@pytest.mark.parametrize("reported, expected", [
    (None, INCORRECT), ("N/A", INCORRECT), ("", INCORRECT), ({"value": 1}, INCORRECT), ([], INCORRECT),
])
def test_values_that_cannot_be_compared_are_incorrect_and_say_so(reported, expected):
    q = real_question(AUC_TASK, AUC)
    verdict = grade(q, reported)
    assert verdict.status is expected
    assert "cannot be compared" in verdict.reason


def test_number_given_as_text_or_with_a_percent_sign_is_read_as_a_number():
    q = real_question(AUC_TASK, AUC)
    value = q.runs[1]
    for written in (str(value), f"{value}%", f"{value} %", f" {value} "):
        verdict = grade(q, written)
        assert verdict.status is CORRECT, written
        assert "read as" in verdict.reason


def test_percent_is_stripped_not_divided():
    q = real_question(AUC_TASK, AUC)
    assert grade(q, f"{q.runs[0] * 100}%").status is INCORRECT


def test_a_one_element_list_counts_for_a_numeric_question_but_two_elements_do_not():
    q = real_question(AUC_TASK, AUC)
    assert grade(q, [q.runs[0]]).status is CORRECT  # numpy compares element-wise; upstream accepts it
    verdict = grade(q, [q.runs[0], q.runs[0]])
    assert verdict.status is INCORRECT and "cannot be compared" in verdict.reason
    assert grade(q, [str(q.runs[0])]).status is INCORRECT


def test_booleans_are_numbers_for_upstream():
    truth = Question("Report whether the effect is significant.", (True, True, True))
    assert official_rule.reference_kind(True) == official_rule.NUMERIC
    assert grade(truth, True).status is CORRECT
    assert grade(truth, 1).status is CORRECT
    assert grade(truth, "1.0").status is CORRECT
    assert grade(truth, False).status is INCORRECT
    assert grade(truth, "True").status is INCORRECT  # float("True") fails: not comparable
    count = Question("Report the number of clusters.", (1, 1, 1))
    assert grade(count, True).status is CORRECT


def test_strings_compare_case_insensitively_with_the_first_run():
    q = first_question(str, same_runs=True)
    assert grade(q, q.runs[0].upper()).status is CORRECT
    assert grade(q, q.runs[0].lower()).status is CORRECT
    assert grade(q, f" {q.runs[0]}").status is INCORRECT
    assert grade(q, q.runs[0] + ".").status is INCORRECT


def test_a_numeric_looking_string_answer_is_turned_into_a_float_first():
    q = Question("Report the best k.", ("5", "5", "5"))
    assert grade(q, 5).status is CORRECT  # str(5) == "5"
    verdict = grade(q, "5")  # float("5") -> 5.0 -> "5.0" != "5": upstream's quirk
    assert verdict.status is INCORRECT and "5.0" in verdict.reason
    assert grade(Question("Report the share.", ("50%",) * 3), "50%").status is INCORRECT
    assert grade(Question("Report the setting.", ("None",) * 3), None).status is CORRECT


def test_lists_must_equal_the_first_run_exactly():
    q = Question("Report the selected features.", (["a", "b"], ["b", "a"], ["a", "b"]))
    assert grade(q, ["a", "b"]).status is CORRECT
    assert grade(q, ["b", "a"]).status is INCORRECT
    assert grade(q, ["A", "b"]).status is INCORRECT
    assert grade(q, '["a", "b"]').status is INCORRECT
    assert grade(Question("Report the sizes.", ([1, 2],) * 3), [1.0, 2.0]).status is CORRECT


# ------------------------------------------------------------ whole reports

def test_a_task_is_correct_only_when_every_question_is():
    task = next(t for t in train_tasks() if len(t["results"][0]) >= 3)
    questions = task_questions(task["capsule_id"], task["results"]).questions
    right = dict(task["results"][0])
    assert grade_report(GRADER, questions, right).task_correct
    wrong = dict(right)
    key = next(iter(wrong))
    wrong[key] = "definitely wrong"
    graded = grade_report(GRADER, questions, wrong)
    assert not graded.task_correct
    assert [g.status for g in graded.grades].count(INCORRECT) == 1


def test_keys_must_match_exactly_and_extra_keys_are_ignored():
    task = task_by_id(AUC_TASK)
    questions = task_questions(AUC_TASK, task["results"]).questions
    value = task["results"][0][AUC]
    graded = grade_report(GRADER, questions, {AUC.lower(): value, "unasked": 1})
    assert not graded.task_correct
    assert graded.grades[0].reason == "not reported"
    assert grade_report(GRADER, questions, {AUC: value, "unasked": "x"}).task_correct


def test_a_report_that_is_not_an_object_fails_every_question():
    task = task_by_id(AUC_TASK)
    questions = task_questions(AUC_TASK, task["results"]).questions
    graded = grade_report(GRADER, questions, ["not", "a", "dict"])
    assert not graded.task_correct and "not a JSON object" in graded.grades[0].reason


def test_vision_questions_are_those_with_fig_in_lower_case():
    task = next(t for t in train_tasks() if any("fig" in k for k in t["results"][0]))
    questions = task_questions(task["capsule_id"], task["results"]).questions
    graded = grade_report(GRADER, questions, dict(task["results"][0]))
    counts = upstream_counts(task["results"], task["results"][0])
    assert (graded.total_written, graded.total_vision) == (counts["total_written"], counts["total_vision"])
    assert graded.total_vision >= 1
    assert not official_rule.is_upstream_vision("Report the value in Figure 3")


def test_upstream_stop_scores_nothing_after_the_first_uncomparable_value():
    runs = [{"Report the loss.": 0.25, "Report the model.": "LASSO", "Report the epochs.": 10}] * 3
    questions = task_questions("c", runs).questions
    report = {"Report the model.": "lasso", "Report the loss.": "N/A", "Report the epochs.": 10}
    default = grade_report(GRADER, questions, report)
    assert [g.status for g in default.grades] == [INCORRECT, CORRECT, CORRECT]
    stopped = grade_report(GRADER, questions, report, upstream_stop=True)
    assert [g.status for g in stopped.grades] == [INCORRECT, CORRECT, INCORRECT]
    assert "upstream stopped" in stopped.grades[2].reason
    assert stopped.correct_written == upstream_counts(runs, report)["correct_written"] == 1
    assert default.task_correct == stopped.task_correct is False


def test_upstream_stop_scores_nothing_when_a_reference_run_lacks_a_numeric_key():
    runs = [{"Report the loss.": 0.25, "Report the model.": "LASSO"}, {"Report the model.": "LASSO"},
            {"Report the loss.": 0.25, "Report the model.": "LASSO"}]
    questions = task_questions("c", runs).questions
    report = {"Report the loss.": 0.25, "Report the model.": "LASSO"}
    stopped = grade_report(GRADER, questions, report, upstream_stop=True)
    assert stopped.correct_written == 0 == upstream_counts(runs, report)["correct_written"]
    default = grade_report(GRADER, questions, report)
    assert [g.status for g in default.grades] == [INCORRECT, CORRECT]
    assert "cannot be summarised" in default.grades[0].reason


# ------------------------------------------------------------ agreement with upstream

def test_agrees_with_upstream_on_thousands_of_answers_to_core_train():
    rng = random.Random(20261123)
    compared = tasks_right = 0
    for task in train_tasks():
        questions = task_questions(task["capsule_id"], task["results"]).questions
        for report in answer_reports(task, rng, 120):
            want = upstream_counts(task["results"], report)
            got = grade_report(GRADER, questions, report, upstream_stop=True)
            assert (got.correct_written, got.correct_vision, got.total_written, got.total_vision) == (
                want["correct_written"], want["correct_vision"], want["total_written"], want["total_vision"]), report
            assert got.task_correct == upstream_task_correct(want), report
            # Without the stop, per-question counts may rise, but the task verdict never changes.
            assert grade_report(GRADER, questions, report).task_correct == got.task_correct
            compared += 1
            tasks_right += got.task_correct
    assert compared == 120 * len(train_tasks()) >= 5000
    assert 0.05 < tasks_right / compared < 0.95  # the sample holds both right and wrong tasks


# ------------------------------------------------------------ properties

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(finite, min_size=2, max_size=8))
def test_the_interval_is_symmetric_about_the_mean(runs):
    lower, upper = official_rule.prediction_interval(runs)
    mean = float(official_rule.reference_interval(runs).mean)
    assert (mean - lower) == pytest.approx(upper - mean, rel=1e-9, abs=1e-9)
    assert lower <= upper


@settings(max_examples=300, deadline=None)
@given(st.lists(finite, min_size=2, max_size=8))
def test_a_value_at_the_reference_mean_is_always_correct(runs):
    mean = float(official_rule.reference_interval(runs).mean)
    assert grade(Question("Report the value.", tuple(runs)), mean).status is CORRECT
