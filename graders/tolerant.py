"""The official verdict first; where it says incorrect but the answer is plausibly right, disputed.

This grader never says `correct` on its own: only the official rule or a person in review does.
The dispute engine (corebench_runner/grading/disputes.py, shared with tolerant-v1.1) names the
form it found (a unit, rounding, percent vs fraction, a decorated label, a list as text...) and
then the official reason, so a reviewer can settle it without digging.
"""

from __future__ import annotations

from typing import Any

from corebench_runner.capsules.format import Question
from corebench_runner.grading import official_rule
from corebench_runner.grading.disputes import reference_for, tolerant_verdict
from corebench_runner.grading.loop import NOT_REPORTED, misnamed_key_verdict
from corebench_runner.records import Verdict, VerdictStatus


class TolerantGrader:
    name = "tolerant"

    def grade(self, question: Question, reported: Any, *, reported_present: bool = True) -> Verdict:
        if not reported_present:
            return Verdict(VerdictStatus.INCORRECT, NOT_REPORTED)
        official = official_rule.check(question.runs, reported)
        reference = reference_for(question, official_rule.prediction_interval(question.runs))
        return tolerant_verdict(question, reported, official, reference, "Official rule")

    def grade_misnamed(self, question: Question, key: str, reported: Any) -> Verdict:
        """The report answered under a key differing only in case, spacing or punctuation."""
        return misnamed_key_verdict(self.grade(question, reported), key)


GRADER = TolerantGrader()
