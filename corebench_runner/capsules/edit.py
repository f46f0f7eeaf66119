"""Edit a capsule's capsule.toml in place, keeping the author's comments and layout (tomlkit).

Two edits that authoring needs: add a question with its `extract` rule, and write the
reference runs that `corebench capsule check --record` measured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions
from tomlkit.items import AoT

from corebench_runner.capsules.extract import SELECTORS
from corebench_runner.capsules.format import CAPSULE_FILE
from corebench_runner.errors import UserError


def _read(folder: Path) -> tomlkit.TOMLDocument:
    path = folder / CAPSULE_FILE
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path} does not exist; start the capsule with `corebench capsule new`") from None
    except tomlkit.exceptions.ParseError as exc:
        raise UserError(f"{path} is not valid TOML ({exc}); fix it first") from None
    except RecursionError:
        raise UserError(f"{path}: arrays or tables nested too deep to read; flatten them first") from None


def _write(folder: Path, doc: tomlkit.TOMLDocument) -> None:
    path = folder / CAPSULE_FILE
    staging = path.with_name(f".{CAPSULE_FILE}.new")
    staging.write_text(tomlkit.dumps(doc), encoding="utf-8")
    staging.replace(path)  # whole or not at all: a crash never leaves half a capsule.toml


def _questions(doc: tomlkit.TOMLDocument) -> AoT | list:
    return doc.get("questions") or []


def _inline(values: dict[str, Any]) -> Any:
    table = tomlkit.inline_table()
    for key, value in values.items():
        table.append(key, _inline(value) if isinstance(value, dict) else value)
    return table


def add_question(folder: Path, text: str, extract: dict[str, Any], vision: bool | None = None) -> int:
    """Append a [[questions]] table (no runs yet); returns how many questions the capsule now has."""
    text = text.strip()
    if not text:
        raise UserError("TEXT: the question is empty; write it as the agent will read it")
    chosen = [s for s in SELECTORS if s in extract]
    if not isinstance(extract.get("file"), str) or len(chosen) != 1:
        raise UserError(f"give --file and exactly one of {', '.join('--' + s for s in SELECTORS)} "
                        "(or --csv-row with --csv-column) to say where the answer is read from")
    doc = _read(folder)
    if any(q.get("text") == text for q in _questions(doc)):
        raise UserError(f"{folder / CAPSULE_FILE}: the question {text!r} is already there; every question is asked once")
    table = tomlkit.table()
    table.add("text", text)
    table.add("runs", tomlkit.array())
    table["runs"].comment(f"written by `corebench capsule check {folder.name} --runs 3 --record`")
    if vision is not None:
        table.add("vision", vision)
    table.add("extract", _inline(extract))
    table.add(tomlkit.nl())
    if "questions" in doc:
        doc["questions"].append(table)
    else:
        questions = tomlkit.aot()
        questions.append(table)
        doc.append("questions", questions)
    _write(folder, doc)
    return len(_questions(doc))


def record_runs(folder: Path, runs_by_question: dict[str, list[Any]]) -> None:
    """Set each named question's `runs`, leaving every other line as it was."""
    doc = _read(folder)
    seen = set()
    for question in _questions(doc):
        text = question.get("text")
        if text in runs_by_question:
            values = tomlkit.array()
            values.extend(runs_by_question[text])
            question["runs"] = values
            seen.add(text)
    missing = set(runs_by_question) - seen
    if missing:
        raise UserError(f"{folder / CAPSULE_FILE}: question(s) {sorted(missing)} vanished while the runs went on; "
                        "run the check again")
    _write(folder, doc)
