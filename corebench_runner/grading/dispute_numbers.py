"""Disputes for numeric questions: the ways a right number is written that an exact rule rejects.

A number with its unit or in a sentence ("512.3 W", "3 flowers"), in quotes or with thousands
separators, a percentage for a fraction (or back), fewer decimals than the reference, several numbers
of which exactly one matches, and a value a few percent outside the interval where the value is
stochastic (the runs differ, or agree only by chance) or read off a figure. Kept out: another sign,
a number off by a factor, a deterministic count a few percent off, a negation, several numbers that
all or none match.
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

from corebench_runner.grading.dispute_labels import boolean_dispute
from corebench_runner.grading.dispute_words import NUMBER, close, decimals, numbers_in, significant
from corebench_runner.grading.official_rule_v11 import decimal_places
from corebench_runner.grading.tolerance import read_number

if TYPE_CHECKING:
    from corebench_runner.grading.disputes import Reference

# How far outside the interval a rerun plausibly lands, relative to the reference's size.
AGREEING_RUNS_REACH = 0.01  # the runs agree, but the value has many decimals: a stochastic computation
# Runs that agree on a value printed to 3 decimals or fewer (0.994) agree on a rounded figure from a report:
# deterministic. A raw computed value (0.8734261907315542) is what may drift.
AGREEING_RUNS_DECIMALS = 4
STOCHASTIC_REACH = 0.03  # the runs differ: the computation is stochastic, a 95% interval misses some reruns
FIGURE_REACH = 0.04  # a value read off a plot is approximate by nature (vision questions)
_ROW_LABEL = re.compile(r"\b(?:fig(?:ure)?|table|panel|section|row|column|experiment|dataset|epoch|fold|step|"
                        r"iteration|class|group|example|version|model|layer|week|day|year)s?\.?\s*#?(\d+)\b",
                        re.IGNORECASE)
MOST_NUMBERS = 6  # more numbers than this in one answer is a table, not an answer with context


def _as_written(number: int | float) -> str:
    """A JSON number as its writer meant it: 96.13, not the arithmetic noise 96.13000000000001."""
    return f"{number:.12g}" if isinstance(number, float) else str(number)


def _inside(value: float, span: tuple[float, float]) -> bool:
    lower, upper = span
    return lower <= value <= upper or close(value, lower) or close(value, upper)


def where(reference: Reference) -> str:
    """The reference in a reviewer's words: its value when every run agrees, else the interval."""
    if reference.runs and len(set(map(repr, reference.runs))) == 1:
        return f"{reference.runs[0]!r} (every reference run)"
    lower, upper = reference.span or (math.nan, math.nan)
    return f"[{lower!r}, {upper!r}]"


def _why_inside(reference: Reference, value: float) -> str:
    """A number inside the span the rule still rejected: say why the rule missed it."""
    if len(reference.runs) < 2:
        return f"it equals the single reference run {where(reference)}; the rule needs two or more runs"
    if reference.numbers and all(n == value for n in reference.numbers):
        return ("it equals every reference run exactly; the rule misses it only because numpy's mean of "
                "identical floats differs from them in the last bit")
    return f"it matches the reference {where(reference)} up to floating-point rounding"


def _rounding_slip(value: float, written: str, reference: float) -> bool:
    """The reference rounded at the written places, then one unit off in the last digit ("0.88" for 0.8734).

    Such a value is what a slip in rounding gives; a rerun's drift lands anywhere.
    """
    places = decimals(written)
    if not 0 < places < 15:
        return False
    return math.isclose(abs(value - round(reference, places)), 10.0 ** (-places), rel_tol=1e-6)


def _reach(reference: Reference, value: float, written: str) -> str | None:
    """A value a few percent outside the interval, where the reference itself is not exact."""
    numbers = reference.numbers
    if not reference.drift or not numbers or reference.span is None or value * (sum(numbers) / len(numbers)) <= 0:
        return None  # another sign (or zero) is never a drift
    agree = len(set(numbers)) == 1
    if agree and numbers[0] == int(numbers[0]):
        return None  # a count or a whole number every run gave: deterministic, a few percent off is wrong
    if reference.vision:
        reach, why = FIGURE_REACH, "a value read off a figure is approximate"
    elif not agree:
        reach, why = STOCHASTIC_REACH, "the reference runs differ, so a rerun may land a little outside their interval"
    elif decimal_places(reference.runs[0]) >= AGREEING_RUNS_DECIMALS and not _rounding_slip(value, written, numbers[0]):
        reach, why = AGREEING_RUNS_REACH, ("a stochastic computation may drift this much on a rerun, and the runs' "
                                           "zero spread leaves no room")
    else:
        return None
    lower, upper = reference.span
    slack = reach * max(abs(lower), abs(upper))
    if lower - slack <= value <= upper + slack:
        return f"is within {reach:.0%} of {where(reference)}: {why}"
    return None


def number_matches(value: float, written: str, reference: Reference, *, reach: bool = True,
                   zeros_lost: bool = False) -> str | None:
    """How value relates to the reference, when it plausibly is the reference; None otherwise.

    zeros_lost: the value came as a JSON number, which cannot keep a trailing zero ("0.70" arrives as 0.7).
    """
    span = reference.span
    if span is None or not math.isfinite(value) or not -290 < decimals(written) < 290:  # 10**±300 overflows
        return None
    if _inside(value, span):
        return f"matches the reference {where(reference)}"
    places, digits = decimals(written), significant(written)
    half = 0.5 * 10.0 ** (-places)
    finest = max((decimal_places(r) for r in reference.runs), default=0)
    for shown, figures in ((places, digits), (places + 1, digits + 1)) if zeros_lost else ((places, digits),):
        slack = 0.5 * 10.0 ** (-shown)
        if figures >= 2 and shown < finest and span[0] - slack <= value <= span[1] + slack:
            return f"is the reference {where(reference)} rounded to {shown} decimal place(s)"
    # Scaling by 100 is judged against the runs themselves: a widening belongs to the reference's own
    # unit, and a 0 reference has no percentage form to confuse.
    # Only in the direction the reference allows: a fraction is at most 1 in size, a percentage mostly above;
    # and never down to a value far smaller than every run, which a span reaching 0 would take in.
    numbers = reference.numbers
    if numbers and any(numbers) and value:
        runs_span, largest = (min(numbers), max(numbers)), max(abs(n) for n in numbers)
        smallest = min(abs(n) for n in numbers if n)
        for factor, words in ((100.0, "a percentage written for the fraction"),
                              (0.01, "a fraction written for the percentage")):
            if (factor == 100.0) != (largest <= 1):
                continue
            scaled, scaled_half = value / factor, half / factor
            if abs(scaled) < 0.5 * smallest:
                continue
            if _inside(scaled, runs_span) or (digits >= 2 and runs_span[0] - scaled_half <= scaled
                                              <= runs_span[1] + scaled_half):
                return f"looks like {words} {where(reference)}"
    return _reach(reference, value, written) if reach else None


def _one_quantity(numbers: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """ "0.44 (44%)": one quantity, as a fraction and as a percentage, counts as one number."""
    if len(numbers) == 2 and any(close(a * 100, b) or round(a * 100, max(decimals(wb), 0)) == b
                                 for (a, _), (b, wb) in (numbers, numbers[::-1])):
        return numbers[:1]
    return numbers


def _one_of_several(reference: Reference, numbers: list[tuple[float, str]], shown: str) -> str | None:
    """Several numbers where one was asked: a dispute when exactly one of them is the reference."""
    if not 2 <= len(numbers) <= MOST_NUMBERS:
        return None
    for reach in (False, True):  # a plain match first; a drift only when nothing matches plainly
        matching = {w: how for v, w in numbers if (how := number_matches(v, w, reference, reach=reach))}
        if len(matching) == 1:
            written, how = next(iter(matching.items()))
            return (f"{len(numbers)} numbers are given where one was asked ({shown}); one of them, {written}, "
                    f"{how}")
        if matching:
            return None
    return None


def row_labels_dropped(text: str, numbers: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """Numbers that name a row, a figure or a step ("Table 1", "epoch 9", "class 3") are not answers."""
    labels = {value for value, _ in numbers_in(" ".join(_ROW_LABEL.findall(text)))}
    kept = [(v, w) for v, w in numbers if v not in labels]
    return kept or numbers


def numeric_dispute(reference: Reference, reported: Any) -> str | None:
    if reference.runs and all(isinstance(r, bool) for r in reference.runs):
        return boolean_dispute(reference.runs[0], reported)  # True is graded as a number, but means yes
    if isinstance(reported, bool) or reference.span is None:
        return None
    if isinstance(reported, (int, float)):
        if not math.isfinite(reported):
            return None
        written = _as_written(reported)
        how = number_matches(float(reported), written, reference, zeros_lost=isinstance(reported, float))
        if how and how.startswith("matches"):
            return _why_inside(reference, float(reported))
        return f"{written} {how}" if how else None
    if isinstance(reported, list):
        if len(reported) == 1:
            inner = numeric_dispute(reference, reported[0])
            return f"a one-element list whose value: {inner}" if inner else None
        readings = [read_number(x) if not isinstance(x, float) else read_number(_as_written(x)) for x in reported]
        if len(reported) <= MOST_NUMBERS and all(readings):  # [0.91, 0.94] or ["0.91", "94%"]
            return _one_of_several(reference, [(r.value, r.text) for r in readings if r], json.dumps(reported)[:60])
        return None
    if not isinstance(reported, str) or len(reported) > 300:
        return None
    reading = read_number(reported)
    if reading is not None:
        how = number_matches(reading.value, reading.text, reference)
        if how is None:
            return None
        notes = f" once {' and '.join(reading.notes)}" if reading.notes else ""
        if how.startswith("matches") and not notes:
            return _why_inside(reference, reading.value)
        return f"read as {reading.text}{notes}, it {how}"
    numbers = _one_quantity(row_labels_dropped(reported, numbers_in(reported, keep_negated=False)))
    shown = json.dumps(reported)[:80]
    if len(numbers) != 1:
        return _one_of_several(reference, numbers, shown)
    value, written = numbers[0]
    how = number_matches(value, written, reference)
    if how is None:
        return None
    extra = NUMBER.sub("", reported).strip()
    if "%" in extra and "percentage" in how:
        how = how.replace("looks like a percentage written", "is a percentage (with its sign) written")
    return f"the number {written} in {shown} (with the unit or words {json.dumps(extra)[:40]}) {how}"
