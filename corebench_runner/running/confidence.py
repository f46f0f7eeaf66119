"""confidence.json, the agent's confidence in each answer, read beside report.json.

Every scaffold's prompt asks for it (capsules/levels.py: confidence_request). It is kept apart from
report.json so the official rule's input stays exactly the question keys. Only numbers from 0 to 1
under a question's exact text count; anything else is counted as a problem and never turned into a
value, so a missing confidence stays missing.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from corebench_runner.capsules.levels import CONFIDENCE_NAME
from corebench_runner.records import TaskSpec

DETAILS_KEY = "confidence"
MAX_BYTES = 1024 * 1024


def confidence_path(task: TaskSpec) -> str:
    return posixpath.join(posixpath.dirname(task.report_path), CONFIDENCE_NAME)


def parse_confidence(raw: bytes | None, questions: tuple[str, ...]) -> dict[str, Any]:
    """{"values": {question: 0..1}, "problem": why some or all are missing ("" when none is)}."""
    if raw is None:
        return {"values": {}, "problem": f"no {CONFIDENCE_NAME}"}
    if len(raw) > MAX_BYTES:
        return {"values": {}, "problem": f"{CONFIDENCE_NAME} is larger than {MAX_BYTES} bytes"}
    try:
        found = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return {"values": {}, "problem": f"{CONFIDENCE_NAME} is not JSON: {exc}"}
    if not isinstance(found, dict):
        return {"values": {}, "problem": f"{CONFIDENCE_NAME} is not a JSON object"}
    values: dict[str, float] = {}
    unusable = []
    for question in questions:
        value = found.get(question)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
            values[question] = float(value)
        elif question in found:
            unusable.append(question)
    missing = len(questions) - len(values) - len(unusable)
    problems = ([f"{len(unusable)} not a number from 0 to 1"] if unusable else []) + \
        ([f"{missing} question(s) without one"] if missing else [])
    return {"values": values, "problem": "; ".join(problems)}


def read_confidence(sandbox: Any, task: TaskSpec, attempt: Any) -> None:
    """Put what confidence.json holds into the attempt's details (the driver stores it per answer)."""
    try:
        raw = sandbox.read_file(confidence_path(task))
    except Exception:  # absent, or the sandbox is gone: no confidences, said so
        raw = None
    attempt.details[DETAILS_KEY] = parse_confidence(raw, task.questions)
