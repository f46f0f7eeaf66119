"""The CORE-Bench v1.1 verdict first; where it says incorrect but a person would likely say right, disputed.

Never `correct` on its own: only the v1.1 rule or a person in review says that. A dispute
names what is off (a unit, percent vs fraction, rounding, a stochastic drift, a decorated
label, yes/no for a boolean, a list written as text) and then the v1.1 reason, so a
reviewer can settle it at a glance (see corebench_runner/grading/disputes_v11.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from corebench_runner.capsules.format import Question
from corebench_runner.grading import official_rule_v11
from corebench_runner.grading.answer_aliases import v11_aliases
from corebench_runner.grading.disputes_v11 import dispute
from corebench_runner.grading.loop import NOT_REPORTED, misnamed_key_verdict
from corebench_runner.grading.official_rule import StopPoint
from corebench_runner.grading.tolerance import within_tolerance
from corebench_runner.records import Verdict, VerdictStatus

_PLAUSIBLE = "plausibly right: "


def _aliases(question: Question) -> official_rule_v11.QuestionAliases:
    return v11_aliases().for_question(question.capsule_id, question.text)


class TolerantV11Grader:
    name = "tolerant-v1.1"

    def grade(self, question: Question, reported: Any, *, reported_present: bool = True) -> Verdict:
        if not reported_present:
            return Verdict(VerdictStatus.INCORRECT, NOT_REPORTED)
        aliases = _aliases(question)
        official = official_rule_v11.check(question.runs, reported, aliases)
        if official.correct:
            return Verdict(VerdictStatus.CORRECT, official.reason)
        if not official.reference_usable:
            return Verdict(VerdictStatus.INCORRECT, official.reason)
        why = within_tolerance(question, reported) or dispute(official.kind, question.runs, reported, aliases)
        if why is None:
            return Verdict(VerdictStatus.INCORRECT, official.reason)
        return Verdict(VerdictStatus.DISPUTED, f"{_PLAUSIBLE}{why}. v1.1 rule: {official.reason}")

    def grade_misnamed(self, question: Question, key: str, reported: Any) -> Verdict:
        """The report answered under a key differing only in case, spacing or punctuation."""
        return misnamed_key_verdict(self.grade(question, reported), key)

    def upstream_stop_point(self, questions: Sequence[Question], report: Mapping[str, Any]) -> StopPoint | None:
        return official_rule_v11.upstream_stop_point([(q.text, q.runs, _aliases(q)) for q in questions], report)


GRADER = TolerantV11Grader()
