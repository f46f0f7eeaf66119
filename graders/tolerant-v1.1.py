"""The CORE-Bench v1.1 verdict first; where it says incorrect but a person would likely say right, disputed.

Never `correct` on its own: only the v1.1 rule or a person in review says that. The dispute
engine (corebench_runner/grading/disputes.py, shared with tolerant) starts from v1.1's widened
interval and answer aliases, names the form it found and then the v1.1 reason, so a reviewer
can settle it at a glance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from corebench_runner.capsules.format import Question
from corebench_runner.grading import official_rule_v11
from corebench_runner.grading.answer_aliases import v11_aliases
from corebench_runner.grading.disputes import reference_for, tolerant_verdict
from corebench_runner.grading.loop import NOT_REPORTED, misnamed_key_verdict
from corebench_runner.grading.official_rule import NUMERIC, StopPoint, reference_kind
from corebench_runner.records import Verdict, VerdictStatus


def _aliases(question: Question) -> official_rule_v11.QuestionAliases:
    return v11_aliases().for_question(question.capsule_id, question.text)


def _widened_span(runs: Sequence[Any]) -> tuple[float, float] | None:
    """v1.1's widened interval as floats; None where it has none (the engine then uses the runs' span)."""
    if not runs or reference_kind(runs[0]) != NUMERIC:
        return None
    try:
        interval = official_rule_v11.widened_interval(runs)
        lower, upper = float(interval.lower), float(interval.upper)
    except Exception:  # noqa: BLE001 - no interval: the engine falls back to the runs themselves
        return None
    return None if math.isnan(lower) or math.isnan(upper) else (lower, upper)


class TolerantV11Grader:
    name = "tolerant-v1.1"

    def grade(self, question: Question, reported: Any, *, reported_present: bool = True) -> Verdict:
        if not reported_present:
            return Verdict(VerdictStatus.INCORRECT, NOT_REPORTED)
        aliases = _aliases(question)
        official = official_rule_v11.check(question.runs, reported, aliases)
        reference = reference_for(question, _widened_span(question.runs), labels=aliases.strings,
                                  lists=aliases.lists)
        return tolerant_verdict(question, reported, official, reference, "v1.1 rule")

    def grade_misnamed(self, question: Question, key: str, reported: Any) -> Verdict:
        """The report answered under a key differing only in case, spacing or punctuation."""
        return misnamed_key_verdict(self.grade(question, reported), key)

    def upstream_stop_point(self, questions: Sequence[Question], report: Mapping[str, Any]) -> StopPoint | None:
        return official_rule_v11.upstream_stop_point([(q.text, q.runs, _aliases(q)) for q in questions], report)


GRADER = TolerantV11Grader()
