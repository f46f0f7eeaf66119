"""The values an output file holds, each with the `extract` rule that reads it back.

`corebench capsule reproduce` prints these so an author can turn any of them into a question:
a JSON value's dotted `key`, a CSV cell's `csv = {row, column}`, a number on a text line as a
`regex`. Every rule shown is checked by reading the value back through extract.py, so what
the author pastes is what the oracle will read.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from corebench_runner.capsules.extract import ExtractionError, extract_answer

MAX_VALUES_PER_FILE = 25
TEXT_SUFFIXES = {".txt", ".log", ".out", ".md", ".tex", ".html", ""}
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_TEXT_NUMBER = r"-?[0-9.]+(?:e[-+]?[0-9]+)?"  # the group a suggested regex rule reads


@dataclass(frozen=True)
class FoundValue:
    rule: dict[str, Any]  # an extract rule without `file`
    value: Any

    def rule_text(self) -> str:
        """The rule as an option list for `capsule add-question`."""
        if "key" in self.rule:
            return f"--key {self.rule['key']}"
        if "csv" in self.rule:
            return f"--csv-row {_shell_word(self.rule['csv']['row'])} --csv-column {_shell_word(self.rule['csv']['column'])}"
        return f"--regex {_shell_word(self.rule['regex'])}"


def _shell_word(value: Any) -> str:
    text = str(value)
    return text if re.fullmatch(r"[\w.,:/+-]+", text) else "'" + text.replace("'", "'\\''") + "'"


def _json_values(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(data, dict):
        found = []
        for key, value in data.items():
            if "." in str(key):
                continue  # a dotted key cannot be named by a dotted path
            found += _json_values(value, f"{prefix}{key}.")
        return found
    if isinstance(data, list) and data and all(not isinstance(v, (dict, list)) for v in data) and len(data) <= 10:
        return [(prefix.rstrip("."), data)]  # a short list of scalars is one answer (upstream grades lists)
    if isinstance(data, list):
        found = []
        for i, value in enumerate(data):
            found += _json_values(value, f"{prefix}{i}.")
        return found
    if isinstance(data, (int, float, str, bool)) and not (isinstance(data, str) and len(data) > 80):
        return [(prefix.rstrip("."), data)]
    return []


def _csv_values(text: str) -> list[dict[str, Any]]:
    rows = [row for row in csv.reader(io.StringIO(text)) if row]
    if len(rows) < 2:
        return []
    header, body = rows[0], rows[1:]
    first_cells = [r[0] for r in body]
    rules = []
    for n, row in enumerate(body):
        # Name the row by its first cell when that is a unique label, else by its number.
        label = row[0] if first_cells.count(row[0]) == 1 and not _NUMBER.fullmatch(row[0].strip()) else n
        for c, cell in enumerate(row[1:] if isinstance(label, str) else row, start=1 if isinstance(label, str) else 0):
            if c < len(header) and _NUMBER.fullmatch(cell.strip()):
                column = header[c] if header.count(header[c]) == 1 and header[c].strip() else c
                rules.append({"csv": {"row": label, "column": column}})
    return rules


def _text_values(text: str) -> list[dict[str, Any]]:
    rules = []
    for line in text.splitlines():
        match = _NUMBER.search(line)
        if match and line.strip():
            before = re.escape(line[:match.start()].lstrip()).replace("\\ ", " ")
            rule = {"regex": f"{before}({_TEXT_NUMBER})"}
            if before.strip() and rule not in rules:  # a bare number has no label to find it by
                rules.append(rule)
    return rules


def found_values(name: str, data: bytes) -> list[FoundValue]:
    """Values in one output file (at most MAX_VALUES_PER_FILE), each readable back by its rule."""
    suffix = PurePosixPath(name).suffix.lower()
    text = data.decode("utf-8", errors="replace")
    if suffix == ".json":
        try:
            rules = [{"key": key} for key, _ in _json_values(json.loads(text)) if key]
        except json.JSONDecodeError:
            rules = []
    elif suffix in (".csv",):
        rules = _csv_values(text)
    elif suffix in TEXT_SUFFIXES and b"\0" not in data[:4096]:
        rules = _text_values(text)
    else:
        return []
    found = []
    for rule in rules:
        try:
            value = extract_answer("", {"file": name, **rule}, lambda _path: data)
        except ExtractionError:
            continue  # a rule that cannot read its own value back is not worth showing
        found.append(FoundValue(rule, value))
        if len(found) == MAX_VALUES_PER_FILE:
            break
    return found
