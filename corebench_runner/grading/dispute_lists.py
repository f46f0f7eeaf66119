"""Disputes for list questions: the reference's items given in a form an exact list comparison rejects.

In another order; with other element types ('1' for 1); written as text (JSON, Python, "A, B");
joined into one sentence ("A and B", "between A and B in dataset X"); with each item decorated as a
label may be ("A (panel 1)"). Kept out: a missing item, an extra item, another item, a negation.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from typing import TYPE_CHECKING, Any

from corebench_runner.grading.dispute_labels import label_dispute
from corebench_runner.grading.dispute_numbers import row_labels_dropped
from corebench_runner.grading.dispute_words import clause_words, close, negated_before, numbers_in, plain, words
from corebench_runner.grading.official_rule_v11 import decimal_places
from corebench_runner.grading.tolerance import read_number

if TYPE_CHECKING:
    from corebench_runner.grading.disputes import Reference

_SEPARATORS = re.compile(r"\s*(?:,|;|&|/|\band\b|\bor\b|\bto\b|\bvs\b\.?)\s*", re.IGNORECASE)
_LONGEST_TEXT = 2000


def _parsed(value: str) -> list | None:
    for parse in (json.loads, ast.literal_eval):  # literal_eval: Python-style ['a', 'b']
        try:
            with warnings.catch_warnings():  # an agent's odd text ("1.py") is no reason to warn on stderr
                warnings.simplefilter("ignore", SyntaxWarning)
                parsed = parse(value)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(parsed, (list, tuple)):
            return list(parsed)
    return None


def _as_items(value: Any) -> list | None:
    if isinstance(value, (list, tuple)):
        return list(value)
    if not isinstance(value, str) or len(value) > _LONGEST_TEXT:
        return None
    parsed = _parsed(value)
    if parsed is not None:
        return parsed
    text = re.sub(r"^\s*[\[(]|[\])]\s*$", "", value.strip().rstrip("."))
    parts = [p.strip(" \"'") for p in _SEPARATORS.split(text) if p.strip(" \"'")]
    return parts if len(parts) >= 2 else None


def _item_key(item: Any) -> str:
    reading = read_number(item) if not isinstance(item, (list, dict, bool)) else None
    if reading is not None:
        return f"n:{reading.value!r}"
    return f"s:{plain(str(item))}"


def _same_items(items: list, candidate: tuple, how: str) -> str | None:
    shown = json.dumps(list(candidate), default=str)[:80]
    if items == list(candidate):
        return f"{how}it equals the reference list {shown}"
    mine, theirs = [_item_key(i) for i in items], [_item_key(i) for i in candidate]
    if mine == theirs:
        return f"{how}it has the items of {shown} in order, written as other types (e.g. '1' for 1) or spacing"
    if sorted(mine) == sorted(theirs):
        return f"{how}it has the items of {shown} in a different order (types such as '1' for 1, spacing, case aside)"
    return None


def _rounds_to(item: Any, reference: Any) -> bool:
    """The item is the reference number written with fewer decimals (at least two significant digits)."""
    mine = read_number(item) if not isinstance(item, (bool, list, dict)) else None
    if mine is None or isinstance(reference, bool) or not isinstance(reference, (int, float)):
        return False
    if close(mine.value, float(reference)):
        return True
    places = mine.decimals
    return (mine.significant >= 2 and places < decimal_places(reference)
            and abs(mine.value - float(reference)) <= 0.5 * 10.0 ** (-places) * (1 + 1e-9))


def _rounded_items(items: list, candidate: tuple, how: str) -> str | None:
    if len(items) != len(candidate) or not all(_rounds_to(i, c) for i, c in zip(items, candidate)):
        return None
    return f"{how}its numbers are those of {json.dumps(list(candidate), default=str)[:80]}, in order, rounded"


def _decorated_items(items: list, candidate: tuple, how: str) -> str | None:
    """Each item is a distinct reference item, some written as a label with extra words or a qualifier."""
    if len(items) != len(candidate) or not all(isinstance(i, str) for i in items):
        return None
    left = [str(c) for c in candidate]
    for item in items:
        match = next((c for c in left if plain(c) == plain(item) or label_dispute([c], item)), None)
        if match is None:
            return None
        left.remove(match)
    return f"{how}each item names one of {json.dumps(list(candidate), default=str)[:80]}, some with extra words"


def _joined(candidate: tuple, text: str) -> str | None:
    """One sentence naming every item and no other: "A and B", "between A and B in dataset X"."""
    mine = clause_words(text)
    item_words = [words(str(c)) for c in candidate]
    if not all(w and any(mine[i:i + len(w)] == w and not negated_before(mine, i) for i in range(len(mine)))
               for w in item_words):
        return None
    for part in _SEPARATORS.split(text):
        part_words = words(part)
        if part_words and not any(any(part_words[i:i + len(w)] == w for i in range(len(part_words)))
                                  for w in item_words):
            return None  # a part naming none of the items: an extra item
    return f"one text names every item of {json.dumps(list(candidate), default=str)[:80]} and no other"


def _numbers_written(text: str) -> list[str] | None:
    """The numbers a text gives, without those naming a table, row or dataset ("in dataset 2")."""
    if len(text) > _LONGEST_TEXT:
        return None
    return [written for _, written in row_labels_dropped(text, numbers_in(text, keep_negated=False))]


def list_dispute(reference: Reference, reported: Any) -> str | None:
    candidates = reference.lists
    if not candidates:
        return None
    how = ""
    if isinstance(reported, list) and len(reported) == 1 and isinstance(reported[0], str):
        reported, how = reported[0], "a one-element list holding a text; "  # ["A and B"]
    numeric = all(isinstance(i, (int, float)) and not isinstance(i, bool) for c in candidates for i in c)
    how += "written as text, " if isinstance(reported, str) else ""
    if isinstance(reported, str) and numeric and _parsed(reported) is None:
        items = _numbers_written(reported)
    else:
        items = _as_items(reported)
    for candidate in candidates:
        why = (_same_items(items, candidate, how) or _rounded_items(items, candidate, how)
               or _decorated_items(items, candidate, how)) if items else None
        if why is None and isinstance(reported, str) and not numeric and len(reported) <= _LONGEST_TEXT:
            why = _joined(candidate, reported)
        if why:
            return why
    return None
