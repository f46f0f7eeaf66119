"""The one dispute engine: when an answer an exact rule rejects is probably right in spirit, and why.

Both tolerant graders use it (graders/tolerant.py after the original rule, graders/tolerant-v1.1.py
after the v1.1 rule); they differ only in the official verdict they start from and in the
`Reference` they build (the rule's own interval, v1.1's answer aliases). The engine never says
`correct`: it returns `disputed` with a one-line reason naming the form it found, or leaves the
official verdict alone. The finders, one module per question kind:

- dispute_numbers.py: a number with its unit or in a sentence, a count with its noun, percent for a
  fraction (or back), rounding, several numbers of which one matches, a stochastic or figure-read value
  a few percent outside the interval;
- dispute_labels.py: a label with extra words, a qualifier, a prefix, suffix or file extension, other
  spacing or quotes, yes/no for a boolean, a number-like text written differently;
- dispute_lists.py: a list in another order, with other element types, written as text, or joined
  into one sentence ("A and B", "between A and B in dataset X").

Near misses stay incorrect: another sign, another row's number, another label, a negation, off by a
factor, a deterministic count a few percent off.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from corebench_runner.capsules.format import Question
from corebench_runner.capsules.questions import is_vision_question
from corebench_runner.grading.dispute_labels import string_dispute
from corebench_runner.grading.dispute_lists import list_dispute
from corebench_runner.grading.dispute_numbers import numeric_dispute
from corebench_runner.grading.loop import PLAUSIBLE
from corebench_runner.grading.official_rule import LIST, NUMERIC, STRING, OfficialCheck
from corebench_runner.grading.tolerance import within_tolerance
from corebench_runner.records import Verdict, VerdictStatus


@dataclass(frozen=True)
class Reference:
    """What a rule accepts for one question, as the finders need it."""

    runs: tuple[Any, ...]
    span: tuple[float, float] | None  # the rule's own interval; the runs' span where the rule has none
    labels: tuple[str, ...] = ()  # accepted texts (the first run, or the rule's aliases)
    lists: tuple[tuple[Any, ...], ...] = ()  # accepted lists (the first run, or the rule's alias sets)
    vision: bool = False  # read off a figure: values are approximate by nature
    drift: bool = True  # a few percent off may be a rerun's drift; False where the capsule gives its own tolerance

    @property
    def numbers(self) -> list[float]:
        """The runs as floats, when every run is a number; [] otherwise."""
        values = [float(r) for r in self.runs if isinstance(r, (int, float)) and not isinstance(r, bool)]
        return values if len(values) == len(self.runs) and all(map(math.isfinite, values)) else []


def runs_span(runs: Sequence[Any]) -> tuple[float, float] | None:
    numbers = [float(r) for r in runs if isinstance(r, (int, float)) and not isinstance(r, bool)]
    if not numbers or len(numbers) != len(runs) or not all(map(math.isfinite, numbers)):
        return None
    return min(numbers), max(numbers)


def reference_for(question: Question, span: tuple[float, float] | None, *,
                  labels: Sequence[str] | None = None, lists: Sequence[Sequence[Any]] | None = None) -> Reference:
    """The Reference of a question under a rule whose interval is `span` (None: no interval, use the runs)."""
    runs = tuple(question.runs)
    first = runs[0] if runs else None
    return Reference(
        runs=runs,
        span=span if span is not None else runs_span(runs),
        labels=tuple(str(a) for a in labels) if labels is not None else (str(first),),
        lists=tuple(tuple(s) for s in lists) if lists is not None else (
            (tuple(first),) if isinstance(first, list) else ()),
        vision=question.vision or is_vision_question(question.text),
        drift=question.tolerance is None)


def find_dispute(kind: str | None, reference: Reference, reported: Any) -> str | None:
    """Why an answer the rule rejects is plausibly right, or None when it is plainly wrong."""
    if reported is None or not reference.runs:
        return None
    finder = {NUMERIC: numeric_dispute, STRING: string_dispute, LIST: list_dispute}.get(kind or "")
    return finder(reference, reported) if finder else None


def tolerant_verdict(question: Question, reported: Any, official: OfficialCheck, reference: Reference,
                     rule_words: str) -> Verdict:
    """The official verdict, with an incorrect answer that is plausibly right turned into `disputed`.

    `rule_words` names the rule in the reason ("Official rule", "v1.1 rule"). A capsule's own
    tolerance for the question (capsule.toml) is a dispute too, found first.
    """
    if official.correct:
        return Verdict(VerdictStatus.CORRECT, official.reason)
    if not official.reference_usable:
        return Verdict(VerdictStatus.INCORRECT, official.reason)
    why = within_tolerance(question, reported) or find_dispute(official.kind, reference, reported)
    if why is None:
        return Verdict(VerdictStatus.INCORRECT, official.reason)
    return Verdict(VerdictStatus.DISPUTED, f"{PLAUSIBLE}{why}. {rule_words}: {official.reason}")
