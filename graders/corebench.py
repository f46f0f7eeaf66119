"""The official CORE-Bench rule, exactly as upstream grades, question by question.

Numbers must lie in the 95% prediction interval of the reference runs, lists must equal the
first run, strings must equal it ignoring case (see corebench_runner/grading/official_rule.py).
"""

from __future__ import annotations

from typing import Any

from corebench_runner.capsules.format import Question
from corebench_runner.grading import official_rule
from corebench_runner.grading.loop import NOT_REPORTED
from corebench_runner.records import Verdict, VerdictStatus


class CorebenchGrader:
    name = "corebench"

    def grade(self, question: Question, reported: Any, *, reported_present: bool = True) -> Verdict:
        if not reported_present:
            return Verdict(VerdictStatus.INCORRECT, NOT_REPORTED)
        result = official_rule.check(question.runs, reported)
        return Verdict(VerdictStatus.CORRECT if result.correct else VerdictStatus.INCORRECT, result.reason)


GRADER = CorebenchGrader()
