"""When an answer the v1.1 rule calls incorrect is probably right in spirit, and why, in a reviewer's words.

Each finder looks at one way people and agents write a right answer that the exact rule
rejects: a number with its unit or in a sentence, a percentage for a fraction (or back),
fewer decimals than the reference, a stochastic value just outside runs that happened to
agree, a label with extra words or other spacing, yes/no for a boolean, a list written as
text. None of them ever makes an answer correct; they only send it to a person.
Near misses stay incorrect: another number, another sign, another label, a negation.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Sequence
from typing import Any

from corebench_runner.grading import official_rule_v11
from corebench_runner.grading.official_rule import LIST, NUMERIC, STRING
from corebench_runner.grading.official_rule_v11 import QuestionAliases
from corebench_runner.grading.tolerance import read_number

# A number standing on its own: not the digit of a name such as "F1" or "R0", and a "-" between two
# numbers ("196000-364000") separates them rather than signs the second. "280k" is 280000.
_NUMBER = re.compile(r"(?<![\w.])[+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?"
                     r"(?P<suffix>[kKM](?![a-zA-Z]))?")
_SUFFIXES = {"k": 1e3, "K": 1e3, "M": 1e6}
_NEGATIONS = {"not", "no", "never", "neither", "nor", "except", "without", "isn't", "wasn't"}
_GENERIC_WORDS = {"the", "a", "an", "model", "method", "line", "group", "label", "name", "is", "answer",
                  "value", "of", "task", "country", "framework", "material", "patient"}
_YES, _NO = {"yes", "y", "true", "t", "1"}, {"no", "n", "false", "f", "0"}
_STOCHASTIC_REACH = 0.01  # relative distance a rerun of a stochastic computation plausibly drifts


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _numbers_in(text: str) -> list[tuple[float, str]]:
    found = []
    for match in _NUMBER.finditer(text):
        suffix = match.group("suffix") or ""
        written = match.group(0).removesuffix(suffix).replace(",", "")
        try:
            value = float(written)
        except ValueError:
            continue
        if suffix:  # "280k": the digits as written say nothing about decimals any more
            value *= _SUFFIXES[suffix]
            written = repr(value) if value != int(value) else str(int(value))
        found.append((value, written))
    return found


def _words(text: str) -> list[str]:
    """Lower-case tokens; '.', '#', '<', '>' and '+' stay inside a token ("Smooth.1", "TS#1") but not at its end."""
    tokens = (w.rstrip(".") for w in re.split(r"[^\w#<>.+]+", text.casefold()))
    return [w for w in tokens if w and w not in {".", "+"}]


def _interval(runs: Sequence[Any]) -> tuple[float, float] | None:
    try:
        interval = official_rule_v11.widened_interval(runs)
        lower, upper = float(interval.lower), float(interval.upper)
    except Exception:  # noqa: BLE001 - no interval: no numeric dispute either
        return None
    if math.isnan(lower) or math.isnan(upper):
        numbers = [float(r) for r in runs if isinstance(r, (int, float))]
        return (min(numbers), max(numbers)) if numbers else None
    return lower, upper


def _inside(value: float, span: tuple[float, float]) -> bool:
    lower, upper = span
    return lower <= value <= upper or _close(value, lower) or _close(value, upper)


def _decimals(written: str) -> int:
    mantissa, _, exponent = written.lower().partition("e")
    places = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return places - (int(exponent) if exponent else 0)


def _number_matches(value: float, written: str, runs: Sequence[Any], span: tuple[float, float]) -> str | None:
    """How value relates to the reference, when it plausibly is the reference; None otherwise."""
    if _inside(value, span):
        return "matches the reference"
    places = _decimals(written)
    significant = len(re.sub(r"\D", "", written.lower().partition("e")[0]).lstrip("0"))
    half = 0.5 * 10.0 ** (-places)
    references = [float(r) for r in runs if isinstance(r, (int, float)) and not isinstance(r, bool)]
    finest = max((official_rule_v11.decimal_places(r) for r in runs), default=0)
    if significant >= 2 and places < finest and span[0] - half <= value <= span[1] + half:
        return f"is the reference rounded to {places} decimal place(s)"
    # Scaling by 100 is judged against the runs themselves: the widening belongs to the reference's
    # own unit, and a 0 reference has no percentage form to confuse.
    runs_span = (min(references), max(references)) if references else span
    for factor, words in ((100.0, "a percentage written for the fraction"),
                          (0.01, "a fraction written for the percentage")):
        scaled, scaled_half = value / factor, half / factor
        if not references or not any(references) or not value:
            break
        if _inside(scaled, runs_span) or (significant >= 2 and runs_span[0] - scaled_half <= scaled
                                          <= runs_span[1] + scaled_half):
            return f"looks like {words}"
    agree = len(set(references)) == 1 and len(references) == len(runs)
    if agree and references and references[0] != int(references[0]) and _decimals(repr(references[0])) >= 3:
        reference = references[0]
        if value * reference > 0 and abs(value - reference) <= _STOCHASTIC_REACH * abs(reference):
            return (f"is within {_STOCHASTIC_REACH:.0%} of {reference!r}, which every reference run gave: a "
                    "stochastic computation may drift this much on a rerun, and the runs' zero spread leaves no room")
    return None


def numeric_dispute(runs: Sequence[Any], reported: Any) -> str | None:
    span = _interval(runs)
    if span is None or isinstance(reported, bool):
        return None
    if isinstance(reported, (int, float)):
        how = _number_matches(float(reported), repr(reported), runs, span) if math.isfinite(reported) else None
        return f"{reported!r} {how}" if how else None
    if isinstance(reported, list) and len(reported) == 1:
        inner = numeric_dispute(runs, reported[0])
        return f"a one-element list whose value {inner}" if inner else None
    if not isinstance(reported, str) or len(reported) > 300:
        return None
    reading = read_number(reported)
    if reading is not None:
        how = _number_matches(reading.value, reading.text, runs, span)
        notes = f" once {' and '.join(reading.notes)}" if reading.notes else ""
        return f"read as {reading.text}{notes}, it {how}" if how else None
    if set(_words(reported)) & _NEGATIONS:
        return None
    numbers = _numbers_in(reported)
    if len(numbers) == 2 and any(_close(a * 100, b) or _close(b * 100, a) or round(a * 100, _decimals(w2)) == b
                                 for (a, _), (b, w2) in (numbers, numbers[::-1])):
        numbers = numbers[:1]  # "0.44 (44%)": one quantity, as a fraction and as a percentage
    if len(numbers) != 1:
        return None  # no number, or several (a range, a row of a table): a person must pick
    value, written = numbers[0]
    how = _number_matches(value, written, runs, span)
    if how is None:
        return None
    extra = _NUMBER.sub("", reported).strip()
    if "%" in extra and "percentage" in how:
        how = how.replace("looks like a percentage written", "is a percentage (with its sign) written")
    return f"the number {written} in {json.dumps(reported)[:80]} (with the unit or words {json.dumps(extra)[:40]}) {how}"


def _plain(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", text.casefold()).strip("\"'`.,;:!?()[]")


def _label_dispute(accepted: Sequence[str], text: str) -> str | None:
    if not text.strip():
        return None
    words = _words(text)
    if set(words) & _NEGATIONS:
        return None
    for label in accepted:
        if _plain(text) == _plain(label):
            return f"it is the label {json.dumps(label)} written with other spacing, case, hyphens or quotes"
    for label in accepted:
        label_words = _words(label)
        if not label_words:
            continue
        n = len(label_words)
        spans = [words[i:i + n] for i in range(len(words) - n + 1)]
        extra = len(words) - n
        if label_words in spans and extra <= 8:
            return f"it names the label {json.dumps(label)} with extra words around it"
        if words and set(words) <= set(label_words) and set(words) - _GENERIC_WORDS:
            if any(len(w) >= 3 or not w.isalpha() for w in set(words) - _GENERIC_WORDS):
                return f"it is a shortened form of the label {json.dumps(label)}"
    for label in accepted:
        plain_label, plain_text = _plain(label), _plain(text)
        if len(plain_label) >= 4 and plain_text != plain_label and (
                plain_text.startswith(plain_label) or plain_text.endswith(plain_label)) and len(plain_text) <= 40:
            return f"it is the label {json.dumps(label)} run together with a prefix or suffix"
    return None


def _boolean_word(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().strip(".!\"'").casefold()
        if not (word in _YES or word in _NO):  # "Yes, 3 features ..." / "No (False)": the first word answers
            first = re.match(r"\s*(\w+)\s*[,;:(\-]", value)
            word = first.group(1).casefold() if first and first.group(1).casefold() in {"yes", "no", "true", "false"} \
                else word
        if word in _YES:
            return True
        if word in _NO:
            return False
    return None


def string_dispute(runs: Sequence[Any], reported: Any, aliases: QuestionAliases) -> str | None:
    reference = str(runs[0])
    accepted = list(aliases.strings) if aliases.strings is not None else [reference]
    mine = _boolean_word(reported)
    theirs = _boolean_word(reference) if reference.strip().casefold() in {"true", "false", "yes", "no"} else None
    if theirs is not None:
        if mine is theirs:
            return f"{json.dumps(reported)} says the same as the reference {json.dumps(reference)} (yes/no/true/false)"
        return None
    if isinstance(reported, list) and len(reported) == 1:
        inner = string_dispute(runs, reported[0], aliases)
        return f"a one-element list; {inner}" if inner else None
    text = official_rule_v11.as_compared_text(reference, reported)
    number = read_number(reported) if not isinstance(reported, bool) else None
    for label in accepted:
        theirs_number = read_number(label)
        if number is not None and theirs_number is not None and theirs_number.value:
            digits = max(1, min(number.significant, 15))
            rounded = float(f"{theirs_number.value:.{digits - 1}e}")
            if _close(number.value, rounded) and number.significant >= 2:
                return f"it is the reference number {label} to {digits} significant figure(s)"
    if isinstance(reported, str) and len(reported) <= 200:
        return _label_dispute(accepted, reported)
    return _label_dispute(accepted, text) if not isinstance(reported, (int, float, bool)) else None


def _as_items(value: Any) -> list | None:
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    if not isinstance(value, str) or len(value) > 2000:
        return None
    for parse in (json.loads, ast.literal_eval):
        try:
            parsed = parse(value)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(parsed, (list, tuple)):
            return list(parsed)
    text = re.sub(r"^\s*[\[(]|[\])]\s*$", "", value.strip().rstrip("."))
    parts = [p.strip(" \"'") for p in re.split(r"\s*(?:,|;|\band\b|\bto\b|&|/)\s*", text) if p.strip(" \"'")]
    return parts if len(parts) >= 2 else None


def _item_key(item: Any) -> str:
    reading = read_number(item) if not isinstance(item, (list, dict, bool)) else None
    if reading is not None:
        return f"n:{reading.value!r}"
    return f"s:{_plain(str(item))}"


def list_dispute(runs: Sequence[Any], reported: Any, aliases: QuestionAliases) -> str | None:
    candidates = [list(s) for s in aliases.lists] if aliases.lists is not None else [list(runs[0])]
    numeric = all(isinstance(i, (int, float)) and not isinstance(i, bool) for c in candidates for i in c)
    if isinstance(reported, str) and numeric:
        items = [written for _, written in _numbers_in(reported)] if len(reported) <= 2000 else None
    else:
        items = _as_items(reported)
    if not items:
        return None
    how = "written as text, " if not isinstance(reported, (list, tuple)) else ""
    mine = sorted(_item_key(i) for i in items)
    for candidate in candidates:
        theirs = sorted(_item_key(i) for i in candidate)
        if sorted(set(mine)) == sorted(set(theirs)) and len(mine) == len(theirs):
            return (f"{how}it has the items of {json.dumps(candidate)} (compared ignoring order, types such as "
                    "'1' for 1, spacing and case)")
    return None


def dispute(kind: str | None, runs: Sequence[Any], reported: Any, aliases: QuestionAliases) -> str | None:
    """Why an answer the v1.1 rule rejects is plausibly right, or None when it is plainly wrong."""
    if reported is None or not runs:
        return None
    if kind == NUMERIC:
        return numeric_dispute(runs, reported)
    if kind == STRING:
        return string_dispute(runs, reported, aliases)
    if kind == LIST:
        return list_dispute(runs, reported, aliases)
    return None
