"""Turn a scaffold's transcript into a flat list of what the agent did in the sandbox.

Each scaffold writes its own event shapes (docs/models.md, docs/scaffolds.md): core-agent
`tool_call` events, the oracle's `command` and `extract` events, the agent CLIs' normalised
`tool_call` events (with an `action`, agents/cli_agents/normalise.py), and older command-scaffold runs'
raw Claude Code stream events (`agent_event`). The diagnostics read only Actions, so a new scaffold
needs one small reader here and no change to the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

# Claude Code tool names -> our action kinds.
_CLAUDE_TOOLS = {"Bash": "command", "Read": "read", "Write": "write", "Edit": "edit", "MultiEdit": "edit",
                 "Glob": "read", "Grep": "read", "LS": "read", "NotebookEdit": "edit"}


@dataclass(frozen=True)
class Action:
    """One thing the agent did. `output` is what came back (what the agent could read)."""

    kind: str  # command | read | write | edit | image | submit | extract
    command: str = ""  # the command line (kind == command)
    path: str = ""  # the file acted on (read, write, edit, image)
    written: str = ""  # text the agent wrote (write content, edit new text)
    replaced: str = ""  # text an edit replaced
    output: str = ""
    exit_code: int | None = None
    timed_out: bool = False
    failed: bool = False  # the tool itself refused (bad path, ...)
    answers: dict[str, Any] | None = None  # submit / extract

    @property
    def describe(self) -> str:
        """The action as a person would type it, for evidence lines."""
        if self.kind == "command":
            return self.command
        if self.kind in ("submit", "extract"):
            return self.kind
        return f"{self.kind} {self.path}".strip()


def read_actions(transcript: Iterable[dict[str, Any]]) -> list[Action]:
    """Every action found in a transcript, in order; unknown events are skipped."""
    events = [e for e in transcript if isinstance(e, dict)]
    claude_results = _claude_results(events)
    actions: list[Action] = []
    for event in events:
        kind = event.get("type")
        if kind == "tool_call" and isinstance(event.get("action"), dict):
            action = _agent_cli_action(event)
        elif kind == "tool_call":
            action = _core_agent_action(event)
        elif kind == "command" and "agent" not in event:  # with "agent": the wrapper of an agent CLI, not its work
            action = _oracle_command(event)
        elif kind == "extract" and isinstance(event.get("answers"), dict):
            action = Action(kind="extract", answers=event["answers"])
        elif kind == "agent_event":
            actions.extend(_claude_actions(event.get("event"), claude_results))
            continue
        else:
            continue
        if action is not None:
            actions.append(action)
    return actions


def observable(transcript: Iterable[dict[str, Any]]) -> bool:
    """Whether the transcript shows the agent's actions at all (a bare scaffold may record none)."""
    return any(isinstance(e, dict) and e.get("type") in ("tool_call", "command", "agent_event", "prompt")
               for e in transcript)


def text_of(value: Any) -> str:
    """The text of a tool result or message content: a string, content blocks, or anything else."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content blocks
        return "\n".join(text_of(b.get("text", "") if isinstance(b, dict) else b) for b in value)
    return str(value)


def _core_agent_action(event: dict[str, Any]) -> Action | None:
    name = event.get("name")
    tool_input = event.get("input") if isinstance(event.get("input"), dict) else {}
    output, failed = text_of(event.get("output")), bool(event.get("is_error"))
    path = str(event.get("path") or tool_input.get("path") or "")
    if name == "bash":
        return Action(kind="command", command=str(tool_input.get("command", "")), output=output,
                      exit_code=event.get("exit_code"), timed_out=bool(event.get("timed_out")), failed=failed)
    if name == "view_file":
        return Action(kind="read", path=path, output=output, failed=failed)
    if name == "create_file":
        return Action(kind="write", path=path, written=str(tool_input.get("content", "")), failed=failed)
    if name == "edit_file":
        return Action(kind="edit", path=path, written=str(tool_input.get("new_text", "")),
                      replaced=str(tool_input.get("old_text", "")), failed=failed)
    if name == "view_image":
        return Action(kind="image", path=path, failed=failed)
    if name == "submit":
        answers = tool_input.get("answers")
        return Action(kind="submit", answers=answers if isinstance(answers, dict) else None,
                      failed=failed or event.get("accepted") is False)
    return None


def _agent_cli_action(event: dict[str, Any]) -> Action | None:
    """An agent CLI's tool call, already classified by its reader (agents/cli_agents/normalise*.py)."""
    action = event["action"]
    kind = action.get("kind")
    output, failed = text_of(event.get("output")), bool(action.get("failed"))
    if kind == "command":
        exit_code = action.get("exit_code")
        return Action(kind="command", command=str(action.get("command", "")), output=output,
                      exit_code=exit_code if isinstance(exit_code, int) else None)
    if kind in ("read", "write", "edit"):
        return Action(kind=kind, path=str(action.get("path", "")), output=output if kind == "read" else "",
                      written=str(action.get("written", "")), replaced=str(action.get("replaced", "")), failed=failed)
    return None


def _oracle_command(event: dict[str, Any]) -> Action:
    output = "\n".join(text_of(event.get(k)) for k in ("stdout_tail", "stderr_tail", "stdout", "stderr") if event.get(k))
    return Action(kind="command", command=str(event.get("command", "")), output=output,
                  exit_code=event.get("exit_code"), timed_out=bool(event.get("timed_out")))


def _claude_results(events: list[dict[str, Any]]) -> dict[str, tuple[str, bool]]:
    """tool_use id -> (result text, is_error) from Claude Code's `user` stream events."""
    results: dict[str, tuple[str, bool]] = {}
    for event in events:
        inner = event.get("event") if event.get("type") == "agent_event" else None
        if not isinstance(inner, dict) or inner.get("type") != "user":
            continue
        for block in (inner.get("message") or {}).get("content") or []:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                results[str(block.get("tool_use_id"))] = (text_of(block.get("content")), bool(block.get("is_error")))
    return results


def _claude_actions(inner: Any, results: dict[str, tuple[str, bool]]) -> list[Action]:
    if not isinstance(inner, dict) or inner.get("type") != "assistant":
        return []
    actions = []
    for block in (inner.get("message") or {}).get("content") or []:
        if not isinstance(block, dict) or block.get("type") != "tool_use":
            continue
        kind = _CLAUDE_TOOLS.get(str(block.get("name")))
        if kind is None:
            continue
        tool_input = block.get("input") if isinstance(block.get("input"), dict) else {}
        output, is_error = results.get(str(block.get("id")), ("", False))
        path = str(tool_input.get("file_path") or tool_input.get("path") or tool_input.get("notebook_path") or "")
        if kind == "command":
            # Claude Code does not report exit codes; an is_error result is its failed command.
            actions.append(Action(kind="command", command=str(tool_input.get("command", "")), output=output,
                                  exit_code=1 if is_error else 0))
        else:
            actions.append(Action(kind=kind, path=path, output=output if kind == "read" else "",
                                  written=str(tool_input.get("content") or tool_input.get("new_string")
                                              or tool_input.get("new_source") or ""),
                                  replaced=str(tool_input.get("old_string") or ""), failed=is_error))
    return actions
