"""The official verdict first; where it says incorrect but the answer is plausibly right, disputed.

This grader never says `correct` on its own: only the official rule or a person in review
does. A dispute names what is off (rounding, percent vs fraction, thousands separators, a
near-miss key, quotes or spacing in a string, list order or element types), then the
official reason, so a reviewer can settle it without digging.
"""

from __future__ import annotations

import ast
import json
import math
from typing import Any

from corebench_runner.capsules.format import Question
from corebench_runner.grading import official_rule
from corebench_runner.grading.loop import NOT_REPORTED, misnamed_key_verdict
from corebench_runner.grading.tolerance import read_number, reference_range, within_tolerance
from corebench_runner.records import Verdict, VerdictStatus

_QUOTES = "\"'`\u2018\u2019\u201c\u201d"
_TRAILING = ".,;:!?"
_PLAUSIBLE = "plausibly right: "


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _inside(value: float, lo: float, hi: float) -> bool:
    return (lo <= value <= hi) or _close(value, lo) or _close(value, hi)


def _written_decimals(runs: tuple) -> int:
    readings = [read_number(r) for r in runs]
    return max((r.decimals for r in readings if r is not None), default=0)


def _rounds_into(value: float, decimals: int, lo: float, hi: float) -> bool:
    """Some value of [lo, hi] rounds to `value` at this many decimals."""
    half = 0.5 * 10.0 ** (-decimals)
    return lo - half <= value <= hi + half or _close(value, lo - half) or _close(value, hi + half)


def _reference_words(question: Question, lo: float, hi: float) -> str:
    if len(set(map(repr, question.runs))) == 1:
        return f"{question.runs[0]!r} (every reference run)"
    return f"[{lo!r}, {hi!r}]"


def _numeric_dispute(question: Question, reported: Any) -> str | None:
    reading = read_number(reported)
    span = reference_range(question)
    if reading is None or span is None or not -290 < reading.decimals < 290:  # 10**±300 overflows
        return None
    lo, hi = span
    v = reading.value
    cleaned = f"read as {reading.text} once {' and '.join(reading.notes)}" if reading.notes else ""
    where = _reference_words(question, lo, hi)
    if _inside(v, lo, hi):
        if cleaned:
            return f"{cleaned}, it matches the reference {where}"
        if len(question.runs) < 2:
            return f"it equals the single reference run {where}; the official rule needs two or more runs"
        if all(isinstance(r, (int, float)) and float(r) == v for r in question.runs):
            return ("it equals every reference run exactly; the official rule misses it only because numpy's "
                    "mean of identical floats differs from them in the last bit")
        return f"it matches the reference {where} up to floating-point rounding"
    decimals = reading.decimals
    enough_digits = reading.significant >= 2
    prefix = f"{cleaned}; " if cleaned else ""
    if enough_digits and decimals < _written_decimals(question.runs) and _rounds_into(v, decimals, lo, hi):
        return (f"{prefix}{reading.text} looks like the reference {where} rounded to {decimals} decimal "
                f"place(s), fewer digits than the reference gives")
    for factor, decimals_after, words in ((0.01, decimals + 2, "a percentage written for the fraction"),
                                          (100.0, decimals - 2, "a fraction written for the percentage")):
        scaled = v * factor
        if _inside(scaled, lo, hi) or (enough_digits and _rounds_into(scaled, decimals_after, lo, hi)):
            return f"{prefix}{reading.text} looks like {words} {where}"
    return None


def _plain_text(value: str) -> str:
    """Text with spacing, surrounding quotes, trailing punctuation and case set aside."""
    text, previous = " ".join(value.split()), None
    while text != previous:
        previous = text
        text = text.rstrip(_TRAILING).strip()
        if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
            text = text[1:-1].strip()
    return text.casefold()


def _string_dispute(question: Question, reported: Any) -> str | None:
    expected = str(question.runs[0])
    if isinstance(reported, list) and len(reported) == 1:
        inner = _string_dispute(question, reported[0])
        return f"a one-element list; its element: {inner}" if inner else (
            f"a one-element list holding the reference {json.dumps(expected)}"
            if str(reported[0]).casefold() == expected.casefold() else None)
    if isinstance(reported, str):
        if reported.casefold() == expected.casefold():
            return (f"the text is the reference {json.dumps(expected)}, but the official rule first turns it "
                    f"into the number {official_rule.coerce_reported(reported)!r} and then compares text")
        if _plain_text(reported) == _plain_text(expected):
            return "it differs from the reference only in quotes, spacing or trailing punctuation"
    mine, theirs = read_number(reported), read_number(expected)
    if mine is not None and theirs is not None and _close(mine.value, theirs.value):
        return f"it is the same number as the reference {json.dumps(expected)}, written differently"
    return None


def _as_list(value: Any) -> tuple[list | None, str]:
    if isinstance(value, list):
        return value, ""
    if isinstance(value, str) and len(value) <= 10_000:
        for parse in (json.loads, ast.literal_eval):  # literal_eval: Python-style ['a', 'b']
            try:
                parsed = parse(value)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
            if isinstance(parsed, (list, tuple)):
                return list(parsed), "written as text; "
    return None, ""


def _element_key(element: Any) -> str:
    reading = read_number(element) if not isinstance(element, list) else None
    if reading is not None:
        return f"n:{reading.value!r}"
    if isinstance(element, str):
        return f"s:{_plain_text(element)}"
    return "j:" + json.dumps(element, sort_keys=True, default=str)


def _list_dispute(question: Question, reported: Any) -> str | None:
    items, how = _as_list(reported)
    expected = question.runs[0]
    if items is None or len(items) != len(expected):
        return None
    mine, theirs = [_element_key(x) for x in items], [_element_key(x) for x in expected]
    if items == expected:
        return f"{how}it equals the reference list"
    if mine == theirs:
        return f"{how}it has the reference's elements in order, written as other types (e.g. '1' for 1)"
    if sorted(mine) == sorted(theirs):
        return f"{how}it has the reference's elements in a different order"
    return None


class TolerantGrader:
    name = "tolerant"

    def grade(self, question: Question, reported: Any, *, reported_present: bool = True) -> Verdict:
        if not reported_present:
            return Verdict(VerdictStatus.INCORRECT, NOT_REPORTED)
        official = official_rule.check(question.runs, reported)
        if official.correct:
            return Verdict(VerdictStatus.CORRECT, official.reason)
        if not official.reference_usable:
            return Verdict(VerdictStatus.INCORRECT, official.reason)
        why = within_tolerance(question, reported)
        if why is None:
            dispute = {official_rule.NUMERIC: _numeric_dispute, official_rule.STRING: _string_dispute,
                       official_rule.LIST: _list_dispute}.get(official.kind)
            why = dispute(question, reported) if dispute else None
        if why is None:
            return Verdict(VerdictStatus.INCORRECT, official.reason)
        return Verdict(VerdictStatus.DISPUTED, f"{_PLAUSIBLE}{why}. Official rule: {official.reason}")

    def grade_misnamed(self, question: Question, key: str, reported: Any) -> Verdict:
        """The report answered under a key differing only in case, spacing or punctuation."""
        return misnamed_key_verdict(self.grade(question, reported), key)


GRADER = TolerantGrader()
