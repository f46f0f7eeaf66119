"""Efficiency broken down: where a task's time, turns, tokens and dollars went.

Per task, from its transcript: the time until the capsule's code first ran, the time spent in
installs (setup) against running the code, model turns and tool calls, and tokens by phase; per
run, the same summed, and the share of its cost spent on tasks that did not end correct.

A model turn belongs to the phase of the tool calls it asked for: `setup` (an install), `code`
(a run of the capsule's code), `report` (submit, or writing report.json), `explore` (anything
else), `answer` (a turn with no tool call); an agent CLI's calls, relayed apart from its stream, are
`unknown`. Dollars by phase split the task's cost in proportion
to its tokens by phase (prices differ little between a turn's input and output at this level of
detail; docs/measures.md). Times come from core-agent's transcript (each event's `t` and each tool
call's `seconds`) and people's sessions (`at_seconds`); agent CLIs' streams carry none, so those
stay unknown rather than guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corebench_runner.diagnostics.actions import Action
from corebench_runner.diagnostics.stages import capsule_code_names, is_install, runs_capsule_code
from corebench_runner.records import TOKEN_FIELDS
from corebench_runner.report.transcripts import load_events
from corebench_runner.store.database import Store
from corebench_runner.store.runs import finished_tasks, run_config_json

# unknown: calls an agent CLI made through the metering relay, listed apart from its tool calls, so
# which phase each served cannot be told.
PHASES = ("explore", "setup", "code", "report", "answer", "unknown")


@dataclass
class TaskEfficiency:
    task_id: int
    capsule_id: str
    outcome: str
    cost_usd: float | None
    seconds: float | None
    first_code_run_seconds: float | None = None  # from the task's start; None: never ran, or untimed
    setup_seconds: float = 0.0
    code_seconds: float = 0.0
    turns: int = 0
    tool_calls: int = 0
    timed: bool = False  # whether the transcript carries times at all
    tokens_by_phase: dict[str, int] = field(default_factory=lambda: {p: 0 for p in PHASES})

    @property
    def cost_by_phase(self) -> dict[str, float | None]:
        total = sum(self.tokens_by_phase.values())
        if self.cost_usd is None or not total:
            return {p: None for p in PHASES}
        return {p: self.cost_usd * n / total for p, n in self.tokens_by_phase.items()}


@dataclass
class RunEfficiency:
    tasks: list[TaskEfficiency]
    turns: int = 0
    tool_calls: int = 0
    setup_seconds: float = 0.0
    code_seconds: float = 0.0
    median_first_code_run_seconds: float | None = None
    tokens_by_phase: dict[str, int] = field(default_factory=lambda: {p: 0 for p in PHASES})
    cost_by_phase: dict[str, float] = field(default_factory=lambda: {p: 0.0 for p in PHASES})
    cost_known_usd: float = 0.0
    cost_on_failed_usd: float = 0.0

    @property
    def failed_cost_share(self) -> float | None:
        return self.cost_on_failed_usd / self.cost_known_usd if self.cost_known_usd else None


def _tokens(usage: Any) -> int:
    if not isinstance(usage, dict):
        return 0
    return sum(int(usage.get(name) or 0) for name in TOKEN_FIELDS)


def _command_of(event: dict[str, Any]) -> str:
    action = event.get("action")
    if isinstance(action, dict) and action.get("kind") == "command":
        return str(action.get("command") or "")
    tool_input = event.get("input")
    if isinstance(tool_input, dict):
        return str(tool_input.get("command") or tool_input.get("cmd") or "")
    return ""


def _phase_of_call(event: dict[str, Any], code_names: set[str], reproduce: str) -> str:
    command = _command_of(event)
    tool_input = event.get("input") if isinstance(event.get("input"), dict) else {}
    if event.get("name") == "submit" or "report.json" in command or \
            str(tool_input.get("path") or tool_input.get("file_path") or "").endswith("report.json"):
        return "report"
    if command and is_install(Action(kind="command", command=command)):
        return "setup"
    if command and runs_capsule_code(command, code_names, reproduce):
        return "code"
    return "explore"


def task_efficiency(events: list[Any], task: dict[str, Any], code_names: set[str], reproduce: str) -> TaskEfficiency:
    found = TaskEfficiency(task_id=task["id"], capsule_id=task["capsule_id"], outcome=task["outcome"] or "",
                           cost_usd=task["cost_usd"], seconds=task["seconds"])
    turn_tokens: int | None = None
    turn_phases: list[str] = []

    def close_turn() -> None:
        if turn_tokens is None:
            return
        order = ("setup", "code", "report", "explore")
        phase = next((p for p in order if p in turn_phases), "answer")
        found.tokens_by_phase[phase] += turn_tokens

    for event in (e for e in events if isinstance(e, dict)):
        kind = event.get("type")
        if kind == "model_call" and "path" in event:  # a relayed call (agents/relay/server.py): no place in the stream
            close_turn()
            turn_tokens = None
            found.turns += 1
            found.tokens_by_phase["unknown"] += _tokens(event.get("usage"))
        elif kind == "model_call":
            close_turn()
            found.turns += 1
            turn_tokens, turn_phases = _tokens(event.get("usage")), []
        elif kind == "tool_call":
            found.tool_calls += 1
            phase = _phase_of_call(event, code_names, reproduce)
            turn_phases.append(phase)
            seconds = event.get("seconds")
            end = event.get("t", event.get("at_seconds"))
            if isinstance(end, (int, float)):
                found.timed = True
            if isinstance(seconds, (int, float)):
                if phase == "setup":
                    found.setup_seconds += seconds
                elif phase == "code":
                    found.code_seconds += seconds
            if phase == "code" and found.first_code_run_seconds is None and isinstance(end, (int, float)):
                found.first_code_run_seconds = max(float(end) - float(seconds or 0), 0.0)
    close_turn()
    return found


def run_efficiency(store: Store, run_id: str) -> RunEfficiency:
    suite_root = _suite_root(store, run_id)
    capsules: dict[str, tuple[set[str], str]] = {}
    tasks = []
    for row in finished_tasks(store, run_id):
        task = dict(row)
        if task["capsule_id"] not in capsules:
            capsules[task["capsule_id"]] = _code_of(suite_root, task["capsule_id"])
        events, _ = load_events(store.artifacts_dir, task["transcript_path"])
        tasks.append(task_efficiency(events, task, *capsules[task["capsule_id"]]))
    found = RunEfficiency(tasks=tasks)
    firsts = sorted(t.first_code_run_seconds for t in tasks if t.first_code_run_seconds is not None)
    if firsts:
        middle = len(firsts) // 2
        found.median_first_code_run_seconds = firsts[middle] if len(firsts) % 2 else (firsts[middle - 1] +
                                                                                     firsts[middle]) / 2
    for t in tasks:
        found.turns += t.turns
        found.tool_calls += t.tool_calls
        found.setup_seconds += t.setup_seconds
        found.code_seconds += t.code_seconds
        for phase in PHASES:
            found.tokens_by_phase[phase] += t.tokens_by_phase[phase]
            found.cost_by_phase[phase] += t.cost_by_phase[phase] or 0.0
        if t.cost_usd is not None:
            found.cost_known_usd += t.cost_usd
            if t.outcome != "correct":
                found.cost_on_failed_usd += t.cost_usd
    return found


def _suite_root(store: Store, run_id: str) -> Path | None:
    config = run_config_json(store, run_id)
    try:
        root = json.loads(config).get("suite_root") if config is not None else None
    except ValueError:
        root = None
    return Path(root) if root else None


def _code_of(suite_root: Path | None, capsule_id: str) -> tuple[set[str], str]:
    """The capsule's code file names and reproduce command, when its suite is still on this machine."""
    if suite_root is None:
        return set(), ""
    try:
        from corebench_runner.capsules.suite import Suite

        capsule = Suite(suite_root).load(capsule_id)
    except Exception:  # moved or broken since the run: phases then come from the commands alone
        return set(), ""
    return capsule_code_names(capsule), capsule.reproduce or ""


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.1f} min"


def efficiency_lines(found: RunEfficiency) -> list[str]:
    """For `corebench show`."""
    if not found.tasks:
        return []
    tokens = ", ".join(f"{p} {n}" for p, n in found.tokens_by_phase.items() if n)
    dollars = ", ".join(f"{p} ${v:.2f}" for p, v in found.cost_by_phase.items() if v)
    share = found.failed_cost_share
    return [f"efficiency: {found.turns} turns, {found.tool_calls} tool calls; code first ran after "
            f"{_minutes(found.median_first_code_run_seconds)} (median); setup {_minutes(found.setup_seconds)}, "
            f"code {_minutes(found.code_seconds)}",
            f"  tokens by phase: {tokens or '-'}; dollars by phase: {dollars or '-'}; spent on tasks that failed: "
            f"{'-' if share is None else f'{share:.0%}'}"]
