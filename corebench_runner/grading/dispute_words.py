"""Reading free text the way the dispute finders need it: the numbers in it, its words, its negations.

Shared by the number, label and list finders of the dispute engine (disputes.py), so that "a number in
a sentence" or "a label with extra words" means the same thing for every question kind and rule.
"""

from __future__ import annotations

import math
import re

# A number standing on its own: not the digit of a name such as "F1" or "R0", and a "-" between two
# numbers ("152000-287000") separates them rather than signs the second. "280k" is 280000.
NUMBER = re.compile(r"(?<![\w.])[+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?"
                    r"(?P<suffix>[kKM](?![a-zA-Z]))?")
_TIMES_TEN = re.compile(r"(\d+(?:\.\d+)?)\s*[x\u00d7*]\s*10\s*(?:\^|\*\*)\s*\(?\s*([+-]?\s*\d+)\s*\)?")
_SUFFIXES = {"k": 1e3, "K": 1e3, "M": 1e6}
NEGATIONS = {"not", "no", "never", "neither", "nor", "except", "without", "isn't", "wasn't", "none"}
# Words that add nothing to a label ("the model X"): a shortened label may drop them.
GENERIC_WORDS = {"the", "a", "an", "model", "method", "line", "group", "label", "name", "is", "answer",
                 "value", "of", "task", "country", "framework", "material", "patient"}


def close(a: float, b: float) -> bool:
    """Equal up to floating-point noise; relative only, so 4.72e-08 stays apart from 4.718e-08."""
    return math.isclose(a, b, rel_tol=1e-9)


def numbers_in(text: str, *, keep_negated: bool = True) -> list[tuple[float, str]]:
    """Each number written in the text, as (value, its digits as written); without those a negation
    denies ("not 17") unless keep_negated."""
    found = []
    text = text.replace("\u2212", "-")  # a typeset minus is still a minus: "−0.79" must not read as 0.79
    text = _TIMES_TEN.sub(lambda m: f"{m.group(1)}e{m.group(2).replace(' ', '')}", text)  # "4.72 × 10^-8"
    for match in NUMBER.finditer(text):
        before = clause_words(text[:match.start()])
        if not keep_negated and negated_before(before, len(before)):
            continue
        suffix = match.group("suffix") or ""
        written = match.group(0).removesuffix(suffix).replace(",", "")
        try:
            value = float(written)
        except ValueError:
            continue
        if not math.isfinite(value):
            continue
        if suffix:  # "280k": the digits as written say nothing about decimals any more
            value *= _SUFFIXES[suffix]
            written = repr(value) if value != int(value) else str(int(value))
        found.append((value, written))
    return found


def words(text: str) -> list[str]:
    """Lower-case tokens; '.', '#', '<', '>', '+' and an inner '-' stay inside a token ("Smooth.1", "TS#1",
    "L2A-LL": one name, not "L2A" and more) but not at its ends."""
    tokens = (w.strip(".-") for w in re.split(r"[^\w#<>.+\-]+", text.casefold()))
    return [w for w in tokens if w and w not in {".", "+"}]


def negated(text: str) -> bool:
    """The text says "not ...", "no ...", "except ...": it may name the reference only to deny it."""
    return any(w in NEGATIONS or w.endswith("n't") for w in words(text))


CLAUSE_BREAK = "|"  # the token clause_words puts between clauses
_CLAUSE_BOUNDARY = re.compile(r"[,;:!?]|\.(?!\w)|\b(?:and|but|or|while|whereas)\b", re.IGNORECASE)


def clause_words(text: str) -> list[str]:
    """words(text), with CLAUSE_BREAK between clauses ("A, not B" or "not A but B" is two clauses)."""
    tokens: list[str] = []
    for clause in _CLAUSE_BOUNDARY.split(text):
        tokens += [*words(clause), CLAUSE_BREAK]
    return tokens[:-1]


def negated_before(tokens: list[str], index: int) -> bool:
    """A negation earlier in the clause of tokens[index] (clause_words tokens): "not A", "not the A".

    Only its own clause counts, so "58 without SEAM and 17 with SEAM" or "A, not B" still assert 17 and A.
    """
    for token in reversed(tokens[:index]):
        if token == CLAUSE_BREAK:
            return False
        if token in NEGATIONS or token.endswith("n't"):
            return True
    return False


def plain(text: str) -> str:
    """Text with case, spacing, underscores, hyphens and surrounding quotes or punctuation set aside."""
    return re.sub(r"[\s_\-]+", "", text.casefold()).strip("\"'`.,;:!?()[]\u2018\u2019\u201c\u201d")


def decimals(written: str) -> int:
    """Digits after the decimal point, as written (negative for 1.2e3-style rounding)."""
    mantissa, _, exponent = written.lower().partition("e")
    places = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return places - (int(exponent) if exponent else 0)


def significant(written: str) -> int:
    """Significant digits as written: "0.0940" has 3, "1200" has 2."""
    mantissa = written.lower().partition("e")[0].lstrip("+-")
    digits = mantissa.replace(".", "").lstrip("0")
    if "." not in mantissa:
        digits = digits.rstrip("0") or digits
    return max(len(digits), 1)
