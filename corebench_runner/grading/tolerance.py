"""Reading numbers the way a person would, and the per-question tolerances of our own capsules.

The official rule reads a number only through float(). People (and agents) also write
"1,234.5", "94.12 %", "'0.94'" or [0.94]; `read_number` understands those forms and says which
one it saw, so the tolerant grader can explain a dispute. `within_tolerance` applies the
tolerance a capsule.toml gives a question (abs, rel, sig_figs); it is reported next to the
official score and never replaces it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from corebench_runner.capsules.format import Question
from corebench_runner.grading import official_rule

_QUOTES = "\"'`\u2018\u2019\u201c\u201d"
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
# Groups of three digits separated by one consistent mark: 1,234,567.8 or 1 234 or 1'234.
_GROUPED = re.compile(r"[+-]?\d{1,3}(?P<sep>[,\u00a0\u202f' ])\d{3}((?P=sep)\d{3})*(\.\d+)?")


@dataclass(frozen=True)
class NumberReading:
    value: float
    text: str  # the digits as written, after any clean-up, e.g. "1234.5"
    notes: tuple[str, ...] = ()  # what had to be cleaned up, in words a reviewer reads

    @property
    def decimals(self) -> int:
        """Digits after the decimal point, as written (negative for 1.2e3-style rounding)."""
        mantissa, _, exponent = self.text.lower().partition("e")
        places = len(mantissa.split(".")[1]) if "." in mantissa else 0
        return places - (int(exponent) if exponent else 0)

    @property
    def significant(self) -> int:
        mantissa = self.text.lower().partition("e")[0].lstrip("+-")
        digits = mantissa.replace(".", "").lstrip("0")
        if "." not in mantissa:
            digits = digits.rstrip("0") or digits
        return max(len(digits), 1)


def _float_text(value: float) -> str:
    return repr(float(value))


def read_number(value: Any) -> NumberReading | None:
    """A number from a reported value in any common written form, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if abs(value) > 10**300:  # beyond what a float holds: not a plausible reading
            return None
        return NumberReading(float(value), str(value))
    if isinstance(value, float):
        return NumberReading(value, _float_text(value)) if math.isfinite(value) else None
    if isinstance(value, list) and len(value) == 1:
        inner = read_number(value[0])
        if inner is None:
            return None
        return NumberReading(inner.value, inner.text, inner.notes + ("given as a one-element list",))
    if not isinstance(value, str):
        return None
    notes: list[str] = []
    text = value.strip()
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
        notes.append("wrapped in quotes")
    if text.endswith("%"):
        text = text[:-1].strip()
        notes.append("written with a percent sign")
    if _GROUPED.fullmatch(text):
        text = re.sub(r"[,\u00a0\u202f' ]", "", text)
        notes.append("written with thousands separators")
    if len(text) > 400 or not _PLAIN_NUMBER.fullmatch(text):
        return None
    number = float(text)
    if not math.isfinite(number) or not -300 < NumberReading(number, text).decimals < 300:
        return None
    return NumberReading(number, text.lstrip("+"), tuple(notes))


def reference_range(question: Question) -> tuple[float, float] | None:
    """The official interval, or the span of the runs when there is none (a single run)."""
    interval = official_rule.prediction_interval(question.runs)
    if interval is not None:
        return interval
    numbers = [float(r) for r in question.runs if isinstance(r, (int, float)) and not isinstance(r, bool)]
    if not numbers or len(numbers) != len(question.runs):
        return None
    return min(numbers), max(numbers)


def round_sig(value: float, figures: int) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, figures - 1 - math.floor(math.log10(abs(value))))


def within_tolerance(question: Question, reported: Any) -> str | None:
    """Why the answer is within the question's own tolerance, or None when it is not (or has none)."""
    tolerance = question.tolerance
    if tolerance is None:
        return None
    reading = read_number(reported)
    span = reference_range(question)
    if reading is None or span is None:
        return None
    v, (lo, hi) = reading.value, span
    if tolerance.abs is not None and lo - tolerance.abs <= v <= hi + tolerance.abs:
        return f"{reading.text} is within the capsule's absolute tolerance {tolerance.abs} of [{lo!r}, {hi!r}]"
    if tolerance.rel is not None and lo - tolerance.rel * abs(lo) <= v <= hi + tolerance.rel * abs(hi):
        return (f"{reading.text} is within the capsule's relative tolerance {tolerance.rel:g} "
                f"({tolerance.rel * 100:g}%) of [{lo!r}, {hi!r}]")
    if tolerance.sig_figs is not None:
        figures = tolerance.sig_figs
        targets = [float(r) for r in question.runs if isinstance(r, (int, float))]
        if any(round_sig(v, figures) == round_sig(t, figures) for t in targets):
            return (f"{reading.text} agrees with a reference run to the {figures} significant "
                    "figure(s) the capsule asks for")
    return None
