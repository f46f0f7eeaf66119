"""Read the two files `corebench grade` takes: upstream task JSON and a list of answers.

TASKS.json is CORE-Bench's own format: a list of tasks, each with capsule_id and results
(the reference runs, {question: value} each), or a v1.1 Croissant file (records whose
expected_answer holds the runs); either may be .gpg-encrypted (decrypted in memory).
ANSWERS.json is a list of {"capsule_id": ID, "report": {question: value}}. A file a person can fix gives one line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corebench_runner.capsules.croissant import is_croissant, read_croissant
from corebench_runner.capsules.format import Question
from corebench_runner.errors import UserError
from corebench_runner.grading import official_rule


@dataclass(frozen=True)
class GradingTask:
    capsule_id: str
    questions: tuple[Question, ...]
    skipped: tuple[str, ...] = ()  # questions upstream does not grade (reference not number/list/text)


@dataclass(frozen=True)
class AnswerEntry:
    capsule_id: str
    report: Any  # normally {question: value}; anything else is graded as an invalid report


def _read_json(path: Path, flag: str) -> Any:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{flag} {path}: no such file; give the path of a JSON file")
    try:
        if path.suffix == ".gpg":
            from corebench_runner.capsules.corebench_import import decrypt

            return json.loads(decrypt(path).decode("utf-8"))
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"{flag} {path}: not UTF-8 text; save it as UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{flag} {path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                        "fix the file") from None


def task_questions(capsule_id: str, results: list[dict[str, Any]]) -> GradingTask:
    """Questions as upstream sees them: the first run's keys, typed by the first run's values."""
    questions, skipped = [], []
    for text, first in results[0].items():
        if official_rule.reference_kind(first) is None:
            skipped.append(text)
            continue
        # A run lacking the key contributes None, which fails the interval exactly where
        # upstream's KeyError would (numeric questions) and is never read otherwise.
        runs = tuple(run.get(text) for run in results)
        questions.append(Question(text=text, runs=runs, vision=official_rule.is_upstream_vision(text),
                                  capsule_id=capsule_id))
    return GradingTask(capsule_id, tuple(questions), tuple(skipped))


def load_tasks(path: Path, flag: str = "--tasks") -> dict[str, GradingTask]:
    data = _read_json(path, flag)
    if is_croissant(data):
        data = read_croissant(data, f"{flag} {path}").tasks
    if not isinstance(data, list):
        raise UserError(f"{flag} {path}: must be a JSON list of CORE-Bench tasks (each with capsule_id and "
                        f"results), not a {type(data).__name__}")
    tasks: dict[str, GradingTask] = {}
    for i, task in enumerate(data):
        where = f"{flag} {path}: task {i}"
        if not isinstance(task, dict) or not isinstance(task.get("capsule_id"), str):
            raise UserError(f"{where}: needs a \"capsule_id\" string")
        capsule_id = task["capsule_id"]
        results = task.get("results")
        if not isinstance(results, list) or not results or not all(isinstance(r, dict) for r in results):
            raise UserError(f"{where} ({capsule_id}): \"results\" must be a non-empty list of reference runs, "
                            "each an object {question: value}")
        if capsule_id in tasks:
            raise UserError(f"{where}: capsule_id {capsule_id!r} appears twice; keep one task per capsule")
        tasks[capsule_id] = task_questions(capsule_id, results)
    return tasks


def load_answers(path: Path, known: dict[str, GradingTask], flag: str = "--answers") -> list[AnswerEntry]:
    data = _read_json(path, flag)
    if not isinstance(data, list):
        raise UserError(f"{flag} {path}: must be a JSON list of {{\"capsule_id\": ID, \"report\": {{...}}}} "
                        f"entries, not a {type(data).__name__}")
    entries = []
    for i, entry in enumerate(data):
        where = f"{flag} {path}: entry {i}"
        if not isinstance(entry, dict) or not isinstance(entry.get("capsule_id"), str):
            raise UserError(f"{where}: needs a \"capsule_id\" string")
        if "report" not in entry:
            raise UserError(f"{where} ({entry['capsule_id']}): needs a \"report\" object {{question: answer}}")
        if entry["capsule_id"] not in known:
            raise UserError(f"{where}: capsule_id {entry['capsule_id']!r} is not in the tasks file; "
                            "check the id or pass the tasks file that holds it")
        report = entry["report"]
        if isinstance(report, str):  # upstream accepts a report given as a JSON string
            try:
                report = json.loads(report)
            except json.JSONDecodeError:
                pass  # graded as an invalid report: every question incorrect
        entries.append(AnswerEntry(entry["capsule_id"], report))
    return entries
