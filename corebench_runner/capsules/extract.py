"""Read a capsule's answers out of its own output files, by the rules in capsule.toml.

Each question's `extract` table names a file (relative to the workspace) and one selector:

    key   = "a.b.0.c"         dotted path into a JSON file; integer segments index lists
    regex = "acc: ([0-9.]+)"  group 1 (or the whole match) of the first match in a text file
    csv   = {row = "model_b", column = "accuracy"}
                              the row whose first column equals `row` (or a 0-based integer
                              row number), the column whose header equals `column` (or a
                              0-based integer column number)

Values read from text (regex, csv) become numbers when they parse as one. The oracle
scaffold and the capsule health check both use this module; it never sees reference values.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any, Callable

from corebench_runner.records import OracleSpec

SELECTORS = ("key", "regex", "csv")


class ExtractionError(Exception):
    """An answer could not be read; the message names the question and the file."""

    def __init__(self, question: str, file: str, problem: str, missing_file: bool = False) -> None:
        super().__init__(f"question {question!r}: {file}: {problem}")
        self.question = question
        self.file = file
        self.missing_file = missing_file


def to_number_if_numeric(text: str) -> Any:
    """'0.93' -> 0.93, '12' -> 12, anything else stays a (stripped) string."""
    stripped = text.strip()
    try:
        return int(stripped)
    except ValueError:
        pass
    try:
        return float(stripped)
    except ValueError:
        return stripped


def select_json(data: Any, dotted: str) -> Any:
    """Follow a dotted path; raises KeyError with the segment that was not found."""
    current = data
    for segment in dotted.split("."):
        if isinstance(current, list):
            try:
                current = current[int(segment)]
            except (ValueError, IndexError):
                raise KeyError(f"no list item {segment!r} (the list has {len(current)} item(s))") from None
        elif isinstance(current, dict):
            if segment not in current:
                keys = ", ".join(map(str, list(current)[:8]))
                raise KeyError(f"no key {segment!r} (keys here: {keys})")
            current = current[segment]
        else:
            raise KeyError(f"cannot look up {segment!r} inside a {type(current).__name__}")
    return current


def select_regex(text: str, pattern: str) -> Any:
    match = re.search(pattern, text, flags=re.MULTILINE)
    if match is None:
        raise KeyError(f"no match for regex {pattern!r}")
    return to_number_if_numeric(match.group(1) if match.groups() else match.group(0))


def _pick_index(selector: Any, names: list[str], what: str) -> int:
    if isinstance(selector, int) and not isinstance(selector, bool):
        if 0 <= selector < len(names):
            return selector
        raise KeyError(f"{what} number {selector} is out of range (there are {len(names)})")
    for i, name in enumerate(names):
        if name.strip() == str(selector):
            return i
    shown = ", ".join(n.strip() for n in names[:8])
    raise KeyError(f"no {what} {selector!r} (found: {shown})")


def select_csv(text: str, selector: dict[str, Any]) -> Any:
    rows = [row for row in csv.reader(io.StringIO(text)) if row]
    if len(rows) < 2:
        raise KeyError("the CSV file needs a header line and at least one data row")
    if "row" not in selector or "column" not in selector:
        raise KeyError("a csv selector needs both `row` and `column`")
    header, body = rows[0], rows[1:]
    column = _pick_index(selector["column"], header, "column")
    row = body[_pick_index(selector["row"], [r[0] for r in body], "row")]
    if column >= len(row):
        raise KeyError(f"the selected row has only {len(row)} column(s)")
    return to_number_if_numeric(row[column])


def extract_answer(question: str, rule: dict[str, Any], read_file: Callable[[str], bytes]) -> Any:
    """One question's answer; raises ExtractionError saying what went wrong and where."""
    file = rule.get("file")
    if not isinstance(file, str) or not file:
        raise ExtractionError(question, "?", "the extract rule has no `file`")
    chosen = [s for s in SELECTORS if s in rule]
    if len(chosen) != 1:
        raise ExtractionError(question, file, f"the extract rule needs exactly one of {', '.join(SELECTORS)}")
    try:
        raw = read_file(file)
    except Exception as exc:  # any sandbox's "not there"; the message says which
        raise ExtractionError(question, file, f"cannot read the file ({exc.__class__.__name__}: {exc}); "
                              "did the reproduce command write it?", missing_file=True) from None
    text = raw.decode("utf-8", errors="replace")
    selector = chosen[0]
    try:
        if selector == "key":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise KeyError(f"not valid JSON ({exc})") from None
            return select_json(data, str(rule["key"]))
        if selector == "regex":
            return select_regex(text, str(rule["regex"]))
        if not isinstance(rule["csv"], dict):
            raise KeyError("`csv` must be a table like {row = ..., column = ...}")
        return select_csv(text, rule["csv"])
    except (KeyError, re.error) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        raise ExtractionError(question, file, str(message)) from None


def extract_answers(spec: OracleSpec, read_file: Callable[[str], bytes]) -> dict[str, Any]:
    """Every question's answer, by its rule; raises ExtractionError at the first failure."""
    return {question: extract_answer(question, rule, read_file) for question, rule in spec.extract.items()}
