"""Per-run token and step analytics, read from each task's transcript events.

Per task: model calls, tool calls, commands, tokens spent before and after the first run of the
capsule's code (setting up against reproducing), and when that first run started. A command
"runs the capsule's code" as diagnostics/stages.py judges it, with the code files being those the
command names under a `code/` folder (the report has the store, not the capsule). Per run: totals
and medians over the tasks whose transcript was kept.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from corebench_runner.diagnostics.stages import runs_capsule_code

_CODE_PATH = re.compile(r"(?:^|[\s/'\"=])code/([^\s;&|'\"()]+)")
_TOKEN_KEYS = ("input_tokens", "output_tokens")


@dataclass
class TaskAnalytics:
    model_calls: int = 0
    tool_calls: int = 0
    commands: int = 0
    tokens_before_code: int = 0  # input + output tokens of model calls before the first run of the code
    tokens_after_code: int = 0
    first_code_run_t: float | None = None  # seconds from the task's start; None: never ran it (or no times)
    ran_code: bool = False


@dataclass
class RunAnalytics:
    tasks: int  # tasks with a transcript
    model_calls: int
    tool_calls: int
    commands: int
    median_tool_calls: float | None
    tokens_before_code: int
    tokens_after_code: int
    ran_code: int  # tasks that ran the capsule's code at least once
    median_first_code_run_t: float | None


def task_analytics(events: list[Any]) -> TaskAnalytics:
    found = TaskAnalytics()
    for event in events:
        if not isinstance(event, dict):
            continue
        kind = event.get("type")
        if kind == "model_call":
            found.model_calls += 1
            usage = event.get("usage") if isinstance(event.get("usage"), dict) else {}
            tokens = sum(usage[k] for k in _TOKEN_KEYS if isinstance(usage.get(k), int))
            if found.ran_code:
                found.tokens_after_code += tokens
            else:
                found.tokens_before_code += tokens
        elif kind == "tool_call":
            found.tool_calls += 1
            command = _command(event)
            if command is None:
                continue
            found.commands += 1
            if not found.ran_code and runs_capsule_code(command, _code_names(command)):
                found.ran_code = True
                t = event.get("t")
                if isinstance(t, (int, float)) and not isinstance(t, bool):
                    found.first_code_run_t = float(t)
    return found


def run_analytics(per_task: list[TaskAnalytics]) -> RunAnalytics | None:
    if not per_task:
        return None
    firsts = [t.first_code_run_t for t in per_task if t.first_code_run_t is not None]
    return RunAnalytics(
        tasks=len(per_task), model_calls=sum(t.model_calls for t in per_task),
        tool_calls=sum(t.tool_calls for t in per_task), commands=sum(t.commands for t in per_task),
        median_tool_calls=statistics.median(t.tool_calls for t in per_task),
        tokens_before_code=sum(t.tokens_before_code for t in per_task),
        tokens_after_code=sum(t.tokens_after_code for t in per_task),
        ran_code=sum(t.ran_code for t in per_task),
        median_first_code_run_t=statistics.median(firsts) if firsts else None)


def _command(event: dict[str, Any]) -> str | None:
    action = event.get("action")
    if isinstance(action, dict) and action.get("kind") == "command":  # an agent CLI's shell command
        return str(action.get("command") or "")
    tool_input = event.get("input")
    if event.get("name") == "bash" and isinstance(tool_input, dict) and isinstance(tool_input.get("command"), str):
        return tool_input["command"]
    return None


def _code_names(command: str) -> set[str]:
    return {PurePosixPath(m.group(1)).name for m in _CODE_PATH.finditer(command)}
