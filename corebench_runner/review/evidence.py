"""The evidence a reviewer sees: the commands whose output produced an answer.

The transcript is the JSON file a scaffold left (a list of events, or {"events": [...]});
a tool call looks like {"type": "tool_call", "name": "bash", "input": {"command": ...},
"output": "...", "exit_code": 0} (docs/models.md lists every event).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class EvidenceStep:
    command: str
    output: str
    exit_code: int | None
    mentions_answer: bool  # the output contains the reported value


@dataclass(frozen=True)
class Evidence:
    steps: list[EvidenceStep]
    note: str  # why these steps were chosen, or why there are none


def load_events(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data.get("events", data.get("transcript", []))
    return [event for event in data if isinstance(event, dict)] if isinstance(data, list) else []


def value_needles(reported: Any) -> list[str]:
    """Spellings of the reported value that may appear in a command's output."""
    if reported is None or isinstance(reported, bool):
        return []
    if isinstance(reported, (int, float)):
        needles = {str(reported), f"{reported:g}"}
        if isinstance(reported, float) and reported.is_integer():
            needles.add(str(int(reported)))
        return sorted(needles, key=len, reverse=True)
    if isinstance(reported, list):
        return value_needles(reported[0]) if reported else []
    text = str(reported).strip().rstrip("%").strip()
    return [text] if text else []


def _command_of(event: dict[str, Any]) -> str:
    """The command line for bash; for other tools, the tool's name and what it acted on."""
    name = str(event.get("name", "tool"))
    given = event.get("input")
    if not isinstance(given, dict):
        return f"{name} {given}" if given else name
    if name == "bash" and given.get("command"):
        return str(given["command"])
    target = given.get("path") or given.get("file") or json.dumps(given, ensure_ascii=False)
    return f"[{name}] {target}"


def find_evidence(transcript: Path | None, reported: Any, limit: int = 3) -> Evidence:
    """The last `limit` commands whose output contains the reported value, else the last `limit` commands."""
    if transcript is None:
        return Evidence([], "no transcript was kept for this task")
    try:
        events = load_events(transcript)
    except FileNotFoundError:
        return Evidence([], f"transcript missing: {transcript}")
    except (OSError, ValueError) as exc:
        return Evidence([], f"transcript unreadable ({exc.__class__.__name__}): {transcript}")
    needles = value_needles(reported)
    steps = []
    for event in events:
        if event.get("type") != "tool_call" or event.get("name") == "submit":
            continue  # submit carries the answer itself, which proves nothing
        output = str(event.get("output") or "")
        steps.append(EvidenceStep(_command_of(event), output, event.get("exit_code"),
                                  any(n in output for n in needles)))
    matching = [step for step in steps if step.mentions_answer]
    if matching:
        return Evidence(matching[-limit:], "last commands whose output contains the reported value")
    if not steps:
        return Evidence([], "the transcript has no commands")
    return Evidence(steps[-limit:], "no output contains the reported value; the last commands")


def excerpt(step: EvidenceStep, reported: Any, max_lines: int = 6) -> list[str]:
    """The lines of a command's output worth reading: those holding the value, else the tail."""
    lines = step.output.rstrip("\n").splitlines()
    needles = value_needles(reported)
    if step.mentions_answer:
        picked = [line for line in lines if any(n in line for n in needles)]
        if picked:
            return picked[-max_lines:]
    return lines[-max_lines:]
