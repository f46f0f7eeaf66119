"""An agent's stdout (one JSON event per line) -> the transcript events the report renders.

Every agent speaks its own stream format; each reader here turns it into the same few events
(docs/models.md): `message` (what the agent said), `tool_call` (name, input, output, error,
plus an `action` that diagnostics/actions.py reads: kind, command, path, written text) and
`note`. Events a reader does not know are kept whole as `agent_event`, never dropped. Lines
that are not JSON are kept as `output` text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from corebench_runner.diagnostics.actions import text_of  # noqa: F401 (the readers take it from here)


@dataclass
class AgentStream:
    events: list[dict[str, Any]] = field(default_factory=list)
    session_id: str = ""  # what the agent's own resume takes
    turns: int = 0
    final_text: str = ""  # the agent's last words, for error messages
    stopped: str = ""  # why the scaffold stopped it, when it did
    # Where each model call's output begins in `events`, one index per call the agent made, in order; empty
    # when the stream does not show its calls (Codex): the relay's calls are then listed after the stream.
    call_starts: list[int] = field(default_factory=list)


def json_lines(stdout: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for line in stdout.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            event = {"type": "output", "text": line}
        events.append(event if isinstance(event, dict) else {"type": "output", "value": event})
    return events


def kept(event: dict[str, Any]) -> dict[str, Any]:
    """An event no reader knows: kept whole (a stray output line stays as it is)."""
    return event if event.get("type") == "output" else {"type": "agent_event", "event": event}


def message(text: str, role: str = "assistant") -> dict[str, Any]:
    return {"type": "message", "role": role, "text": text}


def tool_call(name: str, tool_input: Any, output: str, is_error: bool, action: dict[str, Any],
              exit_code: int | None = None) -> dict[str, Any]:
    event = {"type": "tool_call", "name": name, "input": tool_input, "output": output, "is_error": is_error,
             "action": action}
    if exit_code is not None:
        event["exit_code"] = exit_code
    return event


def lines_stream(stdout: str) -> AgentStream:
    """Any other CLI: its output, line by line."""
    return AgentStream(events=[{"type": "output", "text": line} for line in stdout.splitlines() if line.strip()])


def normalise(kind: str, stdout: str) -> AgentStream:
    from corebench_runner.agents.cli_agents import normalise_claude, normalise_codex, normalise_opencode

    readers: dict[str, Callable[[str], AgentStream]] = {
        "claude-code": normalise_claude.read, "codex": normalise_codex.read, "opencode": normalise_opencode.read,
        "lines": lines_stream}
    return readers[kind](stdout)
