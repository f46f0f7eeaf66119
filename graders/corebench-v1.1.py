"""CORE-Bench v1.1's rule exactly: the original rule, a widened interval, booleans and answer aliases.

See corebench_runner/grading/official_rule_v11.py. Aliases are looked up per (capsule id, question)
in the encrypted table shipped with the package (corebench_runner/grading/answer_aliases.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from corebench_runner.capsules.format import Question
from corebench_runner.grading import official_rule_v11
from corebench_runner.grading.answer_aliases import v11_aliases
from corebench_runner.grading.loop import NOT_REPORTED
from corebench_runner.grading.official_rule import StopPoint
from corebench_runner.records import Verdict, VerdictStatus


def _aliases(question: Question) -> official_rule_v11.QuestionAliases:
    return v11_aliases().for_question(question.capsule_id, question.text)


class CorebenchV11Grader:
    name = "corebench-v1.1"

    def grade(self, question: Question, reported: Any, *, reported_present: bool = True) -> Verdict:
        if not reported_present:
            return Verdict(VerdictStatus.INCORRECT, NOT_REPORTED)
        result = official_rule_v11.check(question.runs, reported, _aliases(question))
        return Verdict(VerdictStatus.CORRECT if result.correct else VerdictStatus.INCORRECT, result.reason)

    def upstream_stop_point(self, questions: Sequence[Question], report: Mapping[str, Any]) -> StopPoint | None:
        """Where upstream's v1.1 loop stops scoring this report (see grading.grade_report)."""
        return official_rule_v11.upstream_stop_point([(q.text, q.runs, _aliases(q)) for q in questions], report)


GRADER = CorebenchV11Grader()
