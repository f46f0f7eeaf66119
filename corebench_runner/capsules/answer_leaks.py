"""Reference answers that stand verbatim in a file the agent sees: answers in pre-existing artifacts.

A capsule may ship a notebook with its outputs, a log, a README or a results/ folder below the
top level that already holds the paper's numbers; an agent that reads one "solves" the task
without running anything. `corebench capsule validate` warns about each such file, naming the
question and the file. results/ at the easy level is left out: reading it is that level's task.

Short numbers (fewer than three significant digits) and short strings are everywhere, so they are
not looked for. Under data/ (tables of measurements and labels) only numbers of five significant
digits or more are looked for: shorter ones turn up there by chance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from corebench_runner.capsules.format import LEVELS, Capsule, Problem
from corebench_runner.capsules.levels import visible_files

MIN_SIGNIFICANT_DIGITS = 3
MIN_SIGNIFICANT_DIGITS_IN_DATA = 5
MIN_STRING_LENGTH = 4
MAX_FILE_BYTES = 50_000_000  # larger files are data, read by code, not by eye
BINARY_SNIFF = 8192
MAX_NUMBER_CHARS = 100  # longer "numbers" are no measured value
BOUNDARY_CHECKED_CHARS = 256  # phrases up to this long are matched as whole words only
_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w")
_ODD_WHITESPACE = re.compile(r"[^\S ]|  ")


def answer_leaks(capsule: Capsule) -> list[Problem]:
    """One warning per (question, file) where a reference answer stands verbatim in a file the agent sees."""
    seen_at = _files_by_level(capsule)
    texts: dict[Path, _Text | None] = {}
    problems: list[Problem] = []
    for number, question in enumerate(capsule.questions, 1):
        patterns = [(value, pattern) for value in _distinct(question.runs) if (pattern := _pattern(value)) is not None]
        in_data_patterns = [(v, p) for v, p in patterns if _pattern(v, MIN_SIGNIFICANT_DIGITS_IN_DATA, numbers_only=True)]
        if not patterns:
            continue
        for path, levels in seen_at.items():
            in_data = path.relative_to(capsule.path).parts[0] == "data"
            if in_data and not in_data_patterns:
                continue
            if path not in texts:
                raw = _read_text(path)
                texts[path] = _Text(raw) if raw is not None else None
            text = texts[path]
            if text is None:
                continue
            for value, pattern in (in_data_patterns if in_data else patterns):
                if not _found(pattern, text):
                    continue
                relative = path.relative_to(capsule.path).as_posix()
                problems.append(Problem(
                    file=path, field=f"questions[{number - 1}]", severity="warning",
                    message=(f"the reference answer {value!r} of question {number} ({question.text[:70]!r}) stands "
                             f"verbatim in {relative}, which the agent sees at level {', '.join(levels)}; remove "
                             f"the answer from that file (or the file from the capsule)")))
                break
    return problems


def distinctive(value: Any) -> bool:
    """Whether finding this value in a file says something (3 or 0.5 are in every file)."""
    return _pattern(value) is not None


def _files_by_level(capsule: Capsule) -> dict[Path, list[str]]:
    """Every shipped file the agent sees, with the levels that show it (easy's results/ left out)."""
    seen: dict[Path, list[str]] = {}
    for level in LEVELS:
        for path in visible_files(capsule, level):
            parts = [p.lower() for p in path.relative_to(capsule.path).parts[:-1]]
            if level == "easy" and "results" in parts:
                continue
            seen.setdefault(path, []).append(level)
    return seen


def _distinct(values: list[Any]) -> Iterator[Any]:
    shown: list[Any] = []
    for value in values:
        if value not in shown:
            shown.append(value)
            yield value


@dataclass(frozen=True)
class Phrase:
    """A string answer to look for: its words, single-spaced and lower-case, as whole words.

    Looked for by substring search over text normalised the same way (linear), never by a regular
    expression built from the answer: an answer may be megabytes long."""

    words: str


Needle = re.Pattern[str] | Phrase | list[re.Pattern[str] | Phrase]


def normalised(text: str) -> str:
    """Whitespace runs as one space, lower case: the form Phrases are looked for in."""
    if _ODD_WHITESPACE.search(text) is None:  # the usual case: only single spaces, nothing to rewrite
        return text.strip().lower()
    return _WHITESPACE.sub(" ", text).strip().lower()


def _pattern(value: Any, min_digits: int = MIN_SIGNIFICANT_DIGITS, numbers_only: bool = False) -> Needle | None:
    """What to look for: a number as written, a long string as a phrase, a list as all of its items."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        try:
            text = repr(value) if isinstance(value, float) else str(value)
        except ValueError:  # an int past Python's digit limit is no answer anyone wrote by hand
            return None
        digits = text.lstrip("-").replace(".", "").lstrip("0").rstrip("0" if isinstance(value, int) else "")
        if "e" in text.lower() or len(digits) < min_digits or len(text) > MAX_NUMBER_CHARS:
            return None
        return re.compile(r"(?<![\d.])" + re.escape(text) + r"(?!\d)")
    if numbers_only and not isinstance(value, list):
        return None
    if isinstance(value, str):
        words = normalised(value)
        return Phrase(words) if len(words) >= MIN_STRING_LENGTH else None
    if isinstance(value, list) and value:
        items = [_pattern(item, min_digits, numbers_only) for item in value]
        return None if any(item is None or isinstance(item, list) for item in items) else items  # type: ignore[return-value]
    return None


class _Text:
    """A file's text, with its normalised form made once, when a Phrase first needs it."""

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self._normalised: str | None = None

    @property
    def normalised(self) -> str:
        if self._normalised is None:
            self._normalised = normalised(self.raw)
        return self._normalised


def _found(pattern: Needle, text: _Text) -> bool:
    if isinstance(pattern, list):
        return all(_found(p, text) for p in pattern)
    if isinstance(pattern, Phrase):
        return phrase_in(pattern.words, text.normalised)
    return pattern.search(text.raw) is not None


def phrase_in(words: str, text: str) -> bool:
    """Whether words (normalised) stand in text (normalised) as whole words.

    Linear in both: str.find is; a short phrase is checked at each place it occurs (at most
    BOUNDARY_CHECKED_CHARS per place), a long one only where it first occurs, since a long phrase found
    inside longer words is no accident either way."""
    if len(words) > BOUNDARY_CHECKED_CHARS:
        return words in text
    at = text.find(words)
    while at >= 0:
        end = at + len(words)
        if (at == 0 or not _WORD.match(text[at - 1])) and (end == len(text) or not _WORD.match(text[end])):
            return True
        at = text.find(words, at + 1)
    return False


def _read_text(path: Path) -> str | None:
    """The file as text, or None for links, binaries and very large files."""
    try:
        if path.is_symlink() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:BINARY_SNIFF]:
        return None
    return data.decode("utf-8", errors="replace")
