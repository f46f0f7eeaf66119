"""The Grader contract. A grader plugin (graders/NAME.py) exposes GRADER with this shape.

Graders are pure and fast: no I/O, no randomness. See graders/ for the policies.
grade_report (below) grades a whole report, question by question, with any grader.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from corebench_runner.capsules.format import Question
from corebench_runner.grading import official_rule
from corebench_runner.grading.tolerance import within_tolerance
from corebench_runner.records import Verdict, VerdictStatus

# The run's default grader, per benchmark version whose rule differs from the original.
VERSION_DEFAULT_GRADERS = {("core-bench", "1.1"): "tolerant-v1.1"}
RUN_DEFAULT_GRADER = "tolerant"


def grader_for(capsule: Any, run_grader: str) -> str:
    """The grader for one capsule of a run: its own, else its version's default while the run keeps the
    default, else the run's (so `--grader corebench` still applies the original rule everywhere)."""
    if getattr(capsule, "grader", None):
        return capsule.grader
    benchmark = getattr(capsule, "benchmark", None)
    if run_grader == RUN_DEFAULT_GRADER and benchmark is not None:
        return VERSION_DEFAULT_GRADERS.get((benchmark.name, benchmark.version), run_grader)
    return run_grader


class Grader(Protocol):
    name: str

    def grade(self, question: Question, reported: Any, *, reported_present: bool = True) -> Verdict:
        """Grade one reported value against question.runs (the reference runs)."""


# ---------------------------------------------------------------- whole reports
# Grading one report (every question of a task) with any grader.

NOT_REPORTED = "not reported"
PLAUSIBLE = "plausibly right: "


def misnamed_key_verdict(verdict: Verdict, key: str) -> Verdict:
    """A tolerant grader's verdict on an answer given under a key that differs from the question only
    in case, spacing or punctuation, from its verdict on the answer itself: never correct."""
    if verdict.status is VerdictStatus.INCORRECT:
        return Verdict(VerdictStatus.INCORRECT, f"{NOT_REPORTED} (the near-identical key {json.dumps(key)} "
                                                f"has a wrong answer too: {verdict.reason})")
    return Verdict(VerdictStatus.DISPUTED,
                   f"{PLAUSIBLE}the report answers under the key {json.dumps(key)}, which differs from the "
                   f"question only in case, spacing or punctuation; its answer: {verdict.reason.removeprefix(PLAUSIBLE)}")


@dataclass(frozen=True)
class QuestionGrade:
    """One question of a graded report."""

    question: str
    status: VerdictStatus
    reason: str
    vision: bool
    reported: bool  # the report answered it under its exact key
    tolerance_note: str | None = None  # set when the answer is within the question's own tolerance

    @property
    def verdict(self) -> Verdict:
        return Verdict(self.status, self.reason)


@dataclass(frozen=True)
class ReportGrade:
    """Every question of one task graded; a task is correct only when every question is."""

    grades: tuple[QuestionGrade, ...]
    has_tolerances: bool = False

    @property
    def task_correct(self) -> bool:
        return bool(self.grades) and all(g.status is VerdictStatus.CORRECT for g in self.grades)

    @property
    def disputed(self) -> int:
        return sum(g.status is VerdictStatus.DISPUTED for g in self.grades)

    def _count(self, vision: bool, correct_only: bool) -> int:
        return sum(1 for g in self.grades if g.vision == vision
                   and (not correct_only or g.status is VerdictStatus.CORRECT))

    @property
    def correct_written(self) -> int:
        return self._count(False, True)

    @property
    def total_written(self) -> int:
        return self._count(False, False)

    @property
    def correct_vision(self) -> int:
        return self._count(True, True)

    @property
    def total_vision(self) -> int:
        return self._count(True, False)

    @property
    def tolerance_task_correct(self) -> bool | None:
        """Correct once the capsule's own per-question tolerances count; None without any.

        Reported next to the official score, never in its place.
        """
        if not self.has_tolerances:
            return None
        return bool(self.grades) and all(
            g.status is VerdictStatus.CORRECT or g.tolerance_note is not None for g in self.grades)

    def verdicts(self) -> dict[str, Verdict]:
        return {g.question: g.verdict for g in self.grades}


def normalise_key(text: str) -> str:
    """A question key with case, spacing and punctuation ignored (for spotting near misses)."""
    return re.sub(r"[\W_]+", "", text.casefold())


def _near_key(question: str, report: Mapping[str, Any], exact: set[str]) -> str | None:
    target = normalise_key(question)
    for key in report:
        if isinstance(key, str) and key not in exact and normalise_key(key) == target:
            return key
    return None


def _stop_point(grader: Grader, questions: Sequence[Question], report: Mapping[str, Any]) -> official_rule.StopPoint | None:
    """Where upstream stops scoring: a grader for another rule version says so itself."""
    own = getattr(grader, "upstream_stop_point", None)
    if own is not None:
        return own(questions, report)
    return official_rule.upstream_stop_point([(q.text, q.runs) for q in questions], report)


def grader_failed(exc: Exception) -> Verdict:
    """A grader's exception, as the verdict on the answer it was grading: a person settles it."""
    return Verdict(VerdictStatus.DISPUTED, f"the grader failed: {type(exc).__name__}: {exc}")


def _grade_one(grader: Grader, question: Question, report: Mapping[str, Any], exact: set[str]) -> Verdict:
    misnamed = getattr(grader, "grade_misnamed", None)
    if question.text in report:
        verdict = grader.grade(question, report[question.text], reported_present=True)
    else:
        near = _near_key(question.text, report, exact) if misnamed is not None else None
        if near is not None:
            verdict = misnamed(question, near, report[near])
        else:
            verdict = grader.grade(question, None, reported_present=False)
    return Verdict(VerdictStatus(verdict.status), verdict.reason)  # a plugin may give the status as text


def _tolerance_note(question: Question, report: Mapping[str, Any]) -> str | None:
    if question.tolerance is None or question.text not in report:
        return None
    try:
        return within_tolerance(question, report[question.text])
    except Exception:  # a side note, never worth losing the verdict for
        return None


def grade_report(grader: Grader, questions: Sequence[Question], report: Any, *,
                 upstream_stop: bool = False) -> ReportGrade:
    """Grade every question of a task against one report ({question text: value}).

    The one grading loop: `corebench run`, `regrade` and `grade` all grade through it, so one
    answer gets one verdict whichever command graded it. A question the report does not answer
    is incorrect ("not reported"), unless the grader offers `grade_misnamed(question, key, value)`
    and the report has a key that differs only in case, spacing or punctuation. A grader that
    raises makes that answer disputed, with the exception as the reason, so a grader bug reaches
    a person instead of losing the task or silently scoring zero. upstream_stop=True reproduces
    upstream's habit of silently scoring nothing after the first value it cannot compare (see
    official_rule).
    """
    has_tolerances = any(q.tolerance is not None for q in questions)
    if not isinstance(report, Mapping):
        reason = f"the report is not a JSON object of question: answer (got {type(report).__name__})"
        return ReportGrade(tuple(QuestionGrade(q.text, VerdictStatus.INCORRECT, reason, q.vision, False)
                                 for q in questions), has_tolerances)
    stop: official_rule.StopPoint | None = None
    stop_failed: Verdict | None = None
    if upstream_stop:
        try:
            stop = _stop_point(grader, questions, report)
        except Exception as exc:
            stop_failed = grader_failed(exc)
    exact = {q.text for q in questions}
    grades = []
    for q in questions:
        present = q.text in report
        if stop is not None and present and q.text not in stop.scored:
            grades.append(QuestionGrade(q.text, VerdictStatus.INCORRECT, stop.reason, q.vision, True))
            continue
        if stop_failed is not None:
            verdict = stop_failed
        else:
            try:
                verdict = _grade_one(grader, q, report, exact)
            except Exception as exc:
                verdict = grader_failed(exc)
        grades.append(QuestionGrade(q.text, verdict.status, verdict.reason, q.vision, present,
                                    _tolerance_note(q, report)))
    return ReportGrade(tuple(grades), has_tolerances)
