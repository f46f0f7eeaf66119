"""An agent's stdout (one JSON event per line) -> the transcript events the report renders.

Every agent speaks its own stream format; each reader here turns it into the same few events
(docs/models.md): `message` (what the agent said), `tool_call` (name, input, output, error,
plus an `action` that diagnostics/actions.py reads: kind, command, path, written text) and
`note`. Events a reader does not know are kept whole as `agent_event`, never dropped. Lines
that are not JSON are kept as `output` text. Given the time each line was read (session.py reads
the stream as it comes), each event takes the time of the line that made it: its `t`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from corebench_runner.diagnostics.actions import text_of  # noqa: F401 (the readers take it from here)


@dataclass
class AgentStream:
    events: list[dict[str, Any]] = field(default_factory=list)
    session_id: str = ""  # what the agent's own resume takes
    turns: int = 0
    final_text: str = ""  # the agent's last words, for error messages
    stopped: str = ""  # why the scaffold stopped it, when it did
    # Where each model call's output begins in `events`, one index per call the agent made, in order; empty
    # when the stream does not show its calls (Codex): the relay's calls are then placed by time.
    call_starts: list[int] = field(default_factory=list)
    line_times: list[float] = field(default_factory=list)  # when each line of the stream was read, if known
    event_times: list[float] = field(default_factory=list)  # the time of the line that made each event

    def stamp(self, line_number: int) -> None:
        """The events made since the last stamp came from line `line_number`: they take its time."""
        if not self.line_times:
            return
        time = self.line_times[min(line_number, len(self.line_times) - 1)]  # a last line cut short: the last time
        self.event_times += [time] * (len(self.events) - len(self.event_times))

    def timed(self) -> "AgentStream":
        """Each event given the `t` of its line (seconds from the task's start), unless it has one."""
        for event, time in zip(self.events, self.event_times):
            if isinstance(event, dict) and "t" not in event:
                event["t"] = round(time, 3)
        return self


def json_lines(stdout: str, stream: AgentStream | None = None) -> Iterator[dict[str, Any]]:
    """Each line's event; the events a reader makes of a line are stamped with the line's time in `stream`.

    Lines end at "\n" only, as the session counts them while reading (a JSON string may hold U+2028)."""
    for number, line in enumerate(stdout.split("\n")):
        line = line.strip()
        if not line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            event = {"type": "output", "text": line}
        yield event if isinstance(event, dict) else {"type": "output", "value": event}
        if stream is not None:
            stream.stamp(number)


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


def lines_stream(stdout: str, stream: AgentStream) -> AgentStream:
    """Any other CLI: its output, line by line."""
    for number, line in enumerate(stdout.split("\n")):
        if line.strip():
            stream.events.append({"type": "output", "text": line.rstrip("\r")})
            stream.stamp(number)
    return stream


def normalise(kind: str, stdout: str, line_times: Sequence[float] = ()) -> AgentStream:
    """The agent's stream as transcript events; given when each line was read, each event has its time `t`."""
    from corebench_runner.agents.cli_agents import normalise_claude, normalise_codex, normalise_opencode

    readers: dict[str, Callable[[str, AgentStream], AgentStream]] = {
        "claude-code": normalise_claude.read, "codex": normalise_codex.read, "opencode": normalise_opencode.read,
        "lines": lines_stream}
    stream = readers[kind](stdout, AgentStream(line_times=list(line_times)))
    stream.stamp(stdout.count("\n"))  # events made after the last line (unfinished items): the last time
    return stream.timed()
