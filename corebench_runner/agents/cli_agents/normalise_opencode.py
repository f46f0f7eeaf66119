"""OpenCode's `opencode run --format json` -> transcript events.

Each line has a `type` (text, tool_use, step_start, step_finish, error, ...), the session
id (`sessionID`, what `opencode run --session` takes) and a `part`: a text part's `text`, or
a tool part's `tool` name and `state` (input, output, status, metadata such as the exit code).
A step_finish part carries the step's tokens; each counts as one turn.
"""

from __future__ import annotations

from typing import Any

from corebench_runner.agents.cli_agents.normalise import AgentStream, json_lines, kept, message, text_of, tool_call

TOOLS = {"bash": "command", "read": "read", "write": "write", "edit": "edit", "multiedit": "edit", "patch": "edit",
         "glob": "read", "grep": "read", "list": "read"}


def read(stdout: str, stream: AgentStream | None = None) -> AgentStream:
    stream = AgentStream() if stream is None else stream
    for event in json_lines(stdout, stream):
        kind = event.get("type")
        part = event.get("part") if isinstance(event.get("part"), dict) else {}
        stream.session_id = str(event.get("sessionID") or part.get("sessionID") or stream.session_id)
        if kind == "text":
            stream.final_text = text_of(part.get("text"))
            stream.events.append(message(stream.final_text))
        elif kind == "reasoning":
            stream.events.append({"type": "note", "label": "reasoning", "text": text_of(part.get("text"))})
        elif kind == "tool_use":
            stream.events.append(_tool(part))
        elif kind == "step_start":  # one model call begins a step
            stream.call_starts.append(len(stream.events))
        elif kind == "step_finish":
            stream.turns += 1
        elif kind == "error":
            error = event.get("error") if isinstance(event.get("error"), dict) else {}
            data = error.get("data") if isinstance(error.get("data"), dict) else {}
            stream.final_text = text_of(data.get("message") or error.get("message") or error.get("name")) or "error"
            stream.events.append({"type": "note", "text": f"OpenCode error: {stream.final_text}", "is_error": True})
        else:
            stream.events.append(kept(event))
    return stream


def _tool(part: dict[str, Any]) -> dict[str, Any]:
    name = str(part.get("tool") or "")
    state = part.get("state") if isinstance(part.get("state"), dict) else {}
    tool_input = state.get("input") if isinstance(state.get("input"), dict) else {}
    metadata = state.get("metadata") if isinstance(state.get("metadata"), dict) else {}
    failed = state.get("status") == "error"
    output = text_of(state.get("output") if not failed else state.get("error"))
    kind = TOOLS.get(name, "other")
    path = str(tool_input.get("filePath") or tool_input.get("path") or "")
    if kind == "command":
        exit_code = metadata.get("exit")
        exit_code = exit_code if isinstance(exit_code, int) else (1 if failed else None)
        return tool_call(name, tool_input, output, failed or bool(exit_code),
                         {"kind": "command", "command": str(tool_input.get("command", "")), "exit_code": exit_code},
                         exit_code=exit_code)
    return tool_call(name, tool_input, output, failed,
                     {"kind": kind, "path": path, "failed": failed,
                      "written": str(tool_input.get("content") or tool_input.get("newString") or ""),
                      "replaced": str(tool_input.get("oldString") or "")})
