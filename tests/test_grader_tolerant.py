"""The tolerant grader: official verdict first, disputes a reviewer can act on, never `correct` alone."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings, strategies as st

from corebench_runner.capsules.format import Question, load_capsule
from corebench_runner.capsules.plugins import load_plugin
from corebench_runner.grading.loop import grade_report
from corebench_runner.grading.tasks_json import task_questions
from corebench_runner.records import VerdictStatus
from support_capsules import good_capsule_doc, write_capsule
from support_grading import answer_reports, train_tasks

OFFICIAL = load_plugin("graders", "corebench")
TOLERANT = load_plugin("graders", "tolerant")
CORRECT, INCORRECT, DISPUTED = VerdictStatus.CORRECT, VerdictStatus.INCORRECT, VerdictStatus.DISPUTED


def all_questions() -> list[Question]:
    return [q for t in train_tasks() for q in task_questions(t["capsule_id"], t["results"]).questions]


def real(where) -> Question:
    found = next((q for q in all_questions() if where(q)), None)
    assert found is not None, "core_train.json has no such question"
    return found


def zero_spread_float(min_decimals: int = 4) -> Question:
    def ok(q):
        v = q.runs[0]
        return (type(v) is float and len(set(q.runs)) == 1 and len(repr(v).split(".")[-1]) >= min_decimals
                and 0.01 < abs(v) < 1)
    return real(ok)


def disputed(question: Question, value) -> str:
    verdict = TOLERANT.grade(question, value)
    assert OFFICIAL.grade(question, value).status is INCORRECT
    assert verdict.status is DISPUTED, verdict.reason
    assert "Official rule:" in verdict.reason
    return verdict.reason


def rejected(question: Question, value) -> None:
    verdict = TOLERANT.grade(question, value)
    assert verdict.status is INCORRECT, verdict.reason
    assert verdict.reason == OFFICIAL.grade(question, value).reason


# ------------------------------------------------------------ numbers

def test_a_zero_spread_reference_rounded_to_fewer_digits_is_disputed():
    q = zero_spread_float()
    reason = disputed(q, round(q.runs[0], 2))
    assert "rounded to 2 decimal place(s)" in reason and repr(q.runs[0]) in reason
    rejected(q, round(q.runs[0], 2) + 0.01)  # rounding cannot explain it
    rejected(q, round(q.runs[0], 0))  # a single significant digit says too little


def test_percent_written_for_a_fraction_and_back_is_disputed():
    q = zero_spread_float()
    as_percent = f"{q.runs[0] * 100:.2f}%"
    assert "percentage written for the fraction" in disputed(q, as_percent)
    big = real(lambda q: type(q.runs[0]) is float and len(set(q.runs)) == 1 and 10 < q.runs[0] < 100)
    assert "fraction written for the percentage" in disputed(big, big.runs[0] / 100)


def test_thousands_separators_are_disputed_with_the_number_they_mean():
    q = Question("Report the number of edges.", (12345, 12345, 12345))
    reason = disputed(q, "12,345")
    assert "thousands separators" in reason and "12345" in reason
    rejected(q, "12,346")
    rejected(q, "1,23,45")  # not a grouping of thousands


def test_a_number_inside_quotes_is_disputed():
    q = real(lambda q: type(q.runs[0]) is int and len(set(q.runs)) == 1)
    assert "quotes" in disputed(q, f"'{q.runs[0]}'")


def test_answers_nowhere_near_are_left_incorrect_with_the_official_reason():
    q = zero_spread_float()
    for value in (q.runs[0] * 3, "N/A", None, "about right", [1, 2]):
        rejected(q, value)


# ------------------------------------------------------------ strings and lists

def test_a_string_that_differs_only_in_quotes_spacing_or_trailing_punctuation_is_disputed():
    q = real(lambda q: isinstance(q.runs[0], str) and " " in q.runs[0])
    text = q.runs[0]
    for written in (f'"{text}"', f"{text}.", "  " + text.replace(" ", "   ") + " ", f"'{text}'!"):
        assert "written with other spacing, case, hyphens, quotes or trailing punctuation" in disputed(q, written)
    rejected(q, "Temperature")  # another label
    rejected(q, f"not {text}")  # a negation


def test_a_numeric_looking_string_answer_that_upstream_spoils_is_disputed():
    q = Question("Report the best k.", ("5", "5", "5"))
    assert "turns it into the number 5.0" in disputed(q, "5")


def test_a_list_in_another_order_or_with_other_element_types_is_disputed():
    q = Question("Report the selected features, in order.", (["age", "bmi", "sex"],) * 3)
    assert "different order" in disputed(q, ["bmi", "age", "sex"])
    assert "written as text" in disputed(q, '["age", "bmi", "sex"]')
    numbers = Question("Report the cluster sizes.", ([10, 20, 30],) * 3)
    assert "other types" in disputed(numbers, ["10", "20", "30"])
    rejected(numbers, [10, 20])
    rejected(numbers, [10, 20, 31])


# ------------------------------------------------------------ keys

def test_a_key_that_differs_only_in_case_spacing_or_punctuation_is_disputed():
    task = next(t for t in train_tasks() if len(t["results"][0]) >= 2)
    questions = task_questions(task["capsule_id"], task["results"]).questions
    report = dict(task["results"][0])
    text = questions[0].text
    value = report.pop(text)
    report[text.upper().rstrip(".") + "  "] = value
    tolerant = grade_report(TOLERANT, questions, report)
    official = grade_report(OFFICIAL, questions, report)
    assert official.grades[0].status is INCORRECT and official.grades[0].reason == "not reported"
    assert tolerant.grades[0].status is DISPUTED and "differs from the question only in case" in tolerant.grades[0].reason
    assert not tolerant.task_correct and tolerant.disputed == 1
    report[text.upper()] = "wrong"
    report.pop(text.upper().rstrip(".") + "  ")
    assert grade_report(TOLERANT, questions, report).grades[0].status is INCORRECT


# ------------------------------------------------------------ tolerance from capsule.toml

def test_per_question_tolerance_from_capsule_toml_is_reported_apart_from_the_official_score(tmp_path):
    doc = good_capsule_doc("tol")
    doc["questions"][0]["runs"] = [3.7333, 3.7333, 3.7333]
    doc["questions"][0]["tolerance"] = {"abs": 0.01}
    doc["questions"][1]["tolerance"] = {"rel": 0.05}  # a string question: tolerance does not apply
    doc["questions"][2]["runs"] = [1200, 1200, 1200]
    doc["questions"][2]["tolerance"] = {"sig_figs": 2}
    capsule = load_capsule(write_capsule(tmp_path, "tol", doc))
    texts = [q.text for q in capsule.questions]
    report = {texts[0]: 3.74, texts[1]: "setosa", texts[2]: 1240}
    official = grade_report(OFFICIAL, capsule.questions, report)
    tolerant = grade_report(TOLERANT, capsule.questions, report)
    assert not official.task_correct and not tolerant.task_correct
    assert tolerant.tolerance_task_correct is True and official.tolerance_task_correct is True
    assert [g.status for g in tolerant.grades] == [DISPUTED, CORRECT, DISPUTED]
    assert "absolute tolerance 0.01" in tolerant.grades[0].reason
    assert "2 significant figure(s)" in tolerant.grades[2].reason
    report[texts[0]] = 3.76
    assert grade_report(TOLERANT, capsule.questions, report).tolerance_task_correct is False
    plain = Question("Report x.", (1.0, 1.0, 1.0))
    assert grade_report(TOLERANT, [plain], {"Report x.": 1.0}).tolerance_task_correct is None


# ------------------------------------------------------------ never correct on its own

def test_never_correct_unless_the_official_rule_says_so_on_thousands_of_real_answers():
    rng = random.Random(7)
    seen = {CORRECT: 0, INCORRECT: 0, DISPUTED: 0}
    for task in train_tasks():
        questions = task_questions(task["capsule_id"], task["results"]).questions
        for report in answer_reports(task, rng, 40):
            official = grade_report(OFFICIAL, questions, report)
            tolerant = grade_report(TOLERANT, questions, report)
            for o, t in zip(official.grades, tolerant.grades):
                assert (o.status is CORRECT) == (t.status is CORRECT), (o, t)
                seen[t.status] += 1
            assert official.task_correct == tolerant.task_correct
    assert all(count > 100 for count in seen.values()), seen


answers = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
                    st.lists(st.one_of(st.integers(), st.text(max_size=5)), max_size=3))


@settings(max_examples=500, deadline=None)
@given(question=st.sampled_from(all_questions()), answer=answers, use_reference=st.booleans())
def test_tolerant_never_disagrees_with_official_on_a_correct_answer(question, answer, use_reference):
    if use_reference:
        answer = question.runs[0]
    official = OFFICIAL.grade(question, answer)
    tolerant = TOLERANT.grade(question, answer)
    if official.status is CORRECT:
        assert tolerant == official
    else:
        assert tolerant.status in (INCORRECT, DISPUTED)


@pytest.mark.parametrize("name", ["corebench", "tolerant"])
def test_not_reported_is_incorrect_for_both_graders(name):
    grader = load_plugin("graders", name)
    verdict = grader.grade(Question("Report x.", (1, 1, 1)), None, reported_present=False)
    assert verdict.status is INCORRECT and verdict.reason == "not reported"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
    | st.sampled_from(["1e308", "-1e308", "1" + "0" * 400, "[" * 500, "12,345", "94 %", "'0.5'", "[1, 2]"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8)


@settings(max_examples=400, deadline=None)
@given(question=st.sampled_from(all_questions() + [Question("Report the list.", ([0.1, 0.05, 0.01],) * 3)]),
       answer=json_values)
def test_any_json_value_gets_a_verdict_with_a_reason_from_both_graders(question, answer):
    for grader in (OFFICIAL, TOLERANT):
        verdict = grader.grade(question, answer)
        assert verdict.status in (CORRECT, INCORRECT, DISPUTED) and verdict.reason


@pytest.mark.parametrize("written", ["report the mean-squared error (MSE)", "Report_the_mean_squared_error_MSE",
                                     "  Report the mean squared error (MSE).  "])
def test_near_miss_keys_differing_in_punctuation_or_spacing_are_disputed(written):
    q = Question("Report the mean squared error (MSE).", (0.25, 0.25, 0.25))
    graded = grade_report(TOLERANT, [q], {written: 0.25})
    assert graded.grades[0].status is DISPUTED and not graded.grades[0].reported
    assert grade_report(OFFICIAL, [q], {written: 0.25}).grades[0].reason == "not reported"
    assert grade_report(TOLERANT, [q], {"Report the mean squared error (RMSE).": 0.25}).grades[0].status is INCORRECT
