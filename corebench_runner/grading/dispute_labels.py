"""Disputes for text questions: a right label written in a way an exact text comparison rejects.

Other spacing, case, hyphens or quotes; the label with extra words around it or in a sentence; a
shortened label; a qualifier in brackets ("name (panel A)"); a prefix, a suffix or a file extension
("name.s", "results/name.csv"); yes/no for a boolean; a number-like text written differently or to
fewer significant figures; a text the original rule spoils by reading it as a number ("5" for "5").
Kept out: another label, a negation ("not A"), the opposite boolean.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from corebench_runner.grading.dispute_words import (
    GENERIC_WORDS,
    clause_words,
    close,
    negated,
    negated_before,
    numbers_in,
    plain,
    words,
)
from corebench_runner.grading.official_rule import coerce_reported
from corebench_runner.grading.official_rule_v11 import as_compared_text
from corebench_runner.grading.tolerance import NumberReading, read_number

if TYPE_CHECKING:
    from corebench_runner.grading.disputes import Reference

_YES, _NO = {"yes", "y", "true", "t", "1"}, {"no", "n", "false", "f", "0"}
_QUALIFIER = re.compile(r"\s*[(\[{][^()\[\]{}]*[)\]}]\s*")  # "(panel A)", "[test set]"
_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,4}$")  # ".csv", ".s", ".png"
_SEPARATOR_MARKS = "._-:/#+=|~@"
_MOST_EXTRA_WORDS = 30  # beyond this, the label is one word of a paragraph, not the answer


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


def _singular(word: str) -> str:
    """The word without one plural or third-person "s" ("decreases", "models"); "class" keeps its own."""
    return word[:-1] if len(word) >= 4 and word.endswith("s") and not word.endswith("ss") else word


def _compact(text: str) -> str:
    """Spacing set aside, case and separators kept: "print_v2" stays apart from "printv2", "printScript" shows a word."""
    return re.sub(r"\s+", "", text).strip("\"'`.,;:!?\u2018\u2019\u201c\u201d")


def _boundary(before: str, after: str) -> bool:
    """Two characters meet at a word boundary: a separator between them, or CamelCase ("tC")."""
    return before in _SEPARATOR_MARKS or after in _SEPARATOR_MARKS or (before.islower() and after.isupper())


def _decorated(label: str, text: str) -> str | None:
    """The label with a qualifier, a prefix, a suffix or a file extension; None otherwise."""
    plain_label = plain(label)
    if not plain_label:
        return None
    bare = _QUALIFIER.sub(" ", text).strip() if not _QUALIFIER.search(label) else text
    if bare != text and plain(bare) == plain_label:
        return f"it is the label {json.dumps(label)} with a qualifier in brackets"
    base = re.split(r"[/\\]", text.strip())[-1]  # "results/name.csv": the file's own name
    stem = _EXTENSION.sub("", base) if not _EXTENSION.search(label) else base
    if stem != text.strip() and plain(stem) == plain_label:
        return f"it is the label {json.dumps(label)} with a path, a suffix or a file extension"
    # Only across a separator or a CamelCase boundary: "print_v2" and "printScript" are the label with
    # a suffix; "reprint" or "Model10" are other labels.
    label_cased, text_cased = _compact(label), _compact(text)
    n = len(label_cased)
    if len(plain_label) >= 4 and len(text_cased) > n and len(text_cased) <= 40:
        if text_cased.casefold().startswith(label_cased.casefold()) and _boundary(text_cased[n - 1], text_cased[n]):
            return f"it is the label {json.dumps(label)} run together with a suffix"
        if text_cased.casefold().endswith(label_cased.casefold()) and _boundary(text_cased[-n - 1], text_cased[-n]):
            return f"it is the label {json.dumps(label)} run together with a prefix"
    return None


def label_dispute(accepted: Sequence[str], text: str) -> str | None:
    """Why a text names one of the accepted labels, or None."""
    if not text.strip():
        return None
    for label in accepted:
        if plain(text) == plain(label) and not negated(text):
            return (f"it is the label {json.dumps(label)} written with other spacing, case, hyphens, quotes or "
                    "trailing punctuation")
    for label in accepted if not negated(text) else ():
        if words(label) and [_singular(w) for w in words(text)] == [_singular(w) for w in words(label)]:
            return f"it is the label {json.dumps(label)} with another plural or verb ending"
        why = _decorated(label, text)
        if why:
            return why
    mine, marked = words(text), clause_words(text)
    for label in accepted:
        theirs = words(label)
        if not theirs:
            continue
        n = len(theirs)
        named = any(marked[i:i + n] == theirs and not negated_before(marked, i) for i in range(len(marked) - n + 1))
        if named and len(mine) - n <= _MOST_EXTRA_WORDS:
            return f"it names the label {json.dumps(label)} with extra words around it"
        if negated(text):
            continue
        meaningful = set(mine) - GENERIC_WORDS
        if mine and set(mine) <= set(theirs) and any(len(w) >= 3 or not w.isalpha() for w in meaningful):
            return f"it is a shortened form of the label {json.dumps(label)}"
    return None


def _number_text_dispute(accepted: Sequence[str], reported: Any) -> str | None:
    """A number-like reference ("5", "4.718e-08") answered with the same number written otherwise."""
    number = read_number(reported) if not isinstance(reported, bool) else None
    if number is None and isinstance(reported, str) and len(reported) <= 200:
        found = numbers_in(reported, keep_negated=False)  # "4.72 × 10^-8", "5 clusters": one number in words
        number = NumberReading(*found[0]) if len(found) == 1 else None
    if number is None:
        return None
    for label in accepted:
        theirs = read_number(label)
        if theirs is None:
            continue
        if math.isclose(number.value, theirs.value, rel_tol=1e-9):  # relative only: 4.72e-08 is not 4.718e-08
            return f"it is the same number as the reference {json.dumps(label)}, written differently"
        if theirs.value and number.significant >= 2:
            digits = max(1, min(number.significant, 15))
            if close(number.value, float(f"{theirs.value:.{digits - 1}e}")):
                return f"it is the reference number {label} to {digits} significant figure(s)"
    return None


def boolean_dispute(first: Any, reported: Any) -> str | None:
    """A yes/no reference (True, "False", "yes") answered with the same truth in other words."""
    theirs, mine = _boolean_word(first), _boolean_word(reported)
    if theirs is not None and mine is theirs:
        return (f"{json.dumps(reported, default=str)} says the same as the reference {json.dumps(first)} "
                "(yes/no/true/false)")
    return None


def string_dispute(reference: Reference, reported: Any) -> str | None:
    first = str(reference.runs[0])
    accepted = list(reference.labels) or [first]
    if first.strip().casefold() in {"true", "false", "yes", "no"}:
        return boolean_dispute(first, reported)
    if isinstance(reported, list) and len(reported) == 1:
        inner = string_dispute(reference, reported[0])
        return f"a one-element list; its element: {inner}" if inner else None
    if isinstance(reported, str) and any(reported.casefold() == a.casefold() for a in accepted) \
            and not isinstance(coerce_reported(reported), str):
        return (f"the text is the reference {json.dumps(reported)}, but the rule first turns it into the number "
                f"{coerce_reported(reported)!r} and then compares text")
    why = _number_text_dispute(accepted, reported)
    if why:
        return why
    if isinstance(reported, str):
        return label_dispute(accepted, reported) if len(reported) <= 200 else None
    if isinstance(reported, (int, float, bool)) or reported is None:
        return None
    return label_dispute(accepted, as_compared_text(first, reported))
