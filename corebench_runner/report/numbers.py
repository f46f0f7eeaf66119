"""Numbers for people: no binary float noise in grader reasons and values, intervals at the reference's precision.

A grader's reason is stored as text ("outside the 95% prediction interval [0.09699999999999993,
0.0970000000000001] of 3 runs"); the report rewrites each noisy number in it at the precision of
the question's reference runs (0.097 has 3 decimals: "[0.097, 0.097]"), and with no numeric
reference at 12 significant digits, which drops the noise and nothing else.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# A decimal with at least 9 digits after the point (or an exponent): what float noise looks like.
NOISY = re.compile(r"(?<![\w.])-?\d+\.\d{9,}(?:[eE][-+]?\d+)?(?![\w.])|(?<![\w.])-?\d+(?:\.\d+)?[eE][-+]?\d+(?![\w.])")
DECIMALS_OF = re.compile(r"\.(\d+)")


def decimals(value: Any) -> int | None:
    """How many decimals a reference number is written with (None when it is no number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    text = repr(float(value)) if isinstance(value, float) else str(value)
    if "e" in text.lower():
        return None
    found = DECIMALS_OF.search(text)
    digits = found.group(1).rstrip("0") if found else ""
    return len(digits)


def reference_decimals(references: Any) -> int | None:
    """The precision of a question's reference runs: the most decimals any numeric run is written with."""
    if isinstance(references, str):
        try:
            references = json.loads(references)
        except ValueError:
            return None
    found = [d for d in (decimals(v) for v in references or []) if d is not None] if isinstance(references, list) else []
    return max(found) if found else None


def plain_number(value: float, places: int | None = None) -> str:
    """A float as a person writes it: at `places` decimals when given, else without its binary noise."""
    if not math.isfinite(value):
        return str(value)
    if places is not None:
        text = f"{value:.{places}f}"
        return "0" if text.strip("-0.") == "" and places == 0 else text
    text = f"{value:.12g}"
    return text


def tidy_text(text: str | None, places: int | None = None) -> str | None:
    """Every noisy number in `text` rewritten with plain_number; other text untouched."""
    if not text:
        return text
    return NOISY.sub(lambda m: plain_number(float(m.group(0)), places), text)


def tidy_json_value(raw: str | None, places: int | None = None) -> str | None:
    """A stored JSON value for display; floats lose their noise (a string stays a quoted string)."""
    if raw is None:
        return None
    return tidy_text(raw, places)
