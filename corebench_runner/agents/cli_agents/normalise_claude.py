"""Claude Code's `--output-format stream-json --verbose` -> transcript events.

`assistant` events carry text and tool_use blocks; the matching tool_result arrives in a
later `user` event, so a tool call is written out when its result comes (or at the end).
"""

from __future__ import annotations

from typing import Any

from corebench_runner.agents.cli_agents.normalise import AgentStream, json_lines, kept, message, text_of, tool_call

# Claude Code tool names -> action kinds (diagnostics/actions.py).
TOOLS = {"Bash": "command", "Read": "read", "Write": "write", "Edit": "edit", "MultiEdit": "edit",
         "Glob": "read", "Grep": "read", "LS": "read", "NotebookEdit": "edit"}


def action_of(name: str, tool_input: dict[str, Any], is_error: bool) -> dict[str, Any]:
    kind = TOOLS.get(name, "other")
    path = str(tool_input.get("file_path") or tool_input.get("path") or tool_input.get("notebook_path") or "")
    if kind == "command":
        # Claude Code does not report exit codes; an is_error result is its failed command.
        return {"kind": "command", "command": str(tool_input.get("command", "")), "exit_code": 1 if is_error else 0}
    return {"kind": kind, "path": path, "failed": is_error,
            "written": str(tool_input.get("content") or tool_input.get("new_string") or tool_input.get("new_source") or ""),
            "replaced": str(tool_input.get("old_string") or "")}


def read(stdout: str, stream: AgentStream | None = None) -> AgentStream:
    stream = AgentStream() if stream is None else stream
    pending: dict[str, tuple[int, str, dict[str, Any]]] = {}  # tool_use id -> (slot in events, name, input)
    messages: set[str] = set()  # assistant message ids seen: each is one model call
    for event in json_lines(stdout, stream):
        kind = event.get("type")
        if kind == "system" and event.get("subtype") == "init":
            stream.session_id = str(event.get("session_id") or "")
            stream.events.append({"type": "note", "text": f"Claude Code {event.get('claude_code_version', '')} "
                                  f"started: model {event.get('model', '?')}, session {stream.session_id}"})
        elif kind == "assistant":
            message_id = str((event.get("message") or {}).get("id") or "")
            if message_id and message_id not in messages:
                messages.add(message_id)
                stream.call_starts.append(len(stream.events))
            for block in (event.get("message") or {}).get("content") or []:
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "text" and block.get("text"):
                    stream.events.append(message(str(block["text"])))
                elif block.get("type") == "tool_use":
                    tool_input = block.get("input") if isinstance(block.get("input"), dict) else {}
                    stream.events.append({})  # filled when the result arrives
                    pending[str(block.get("id"))] = (len(stream.events) - 1, str(block.get("name")), tool_input)
        elif kind == "user" and _has_results(event):
            for block in event["message"]["content"]:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    slot = pending.pop(str(block.get("tool_use_id")), None)
                    if slot:
                        index, name, tool_input = slot
                        failed = bool(block.get("is_error"))
                        stream.events[index] = tool_call(name, tool_input, text_of(block.get("content")), failed,
                                                         action_of(name, tool_input, failed))
        elif kind == "result":
            stream.turns = int(event.get("num_turns") or 0)
            stream.session_id = str(event.get("session_id") or stream.session_id)
            stream.final_text = text_of(event.get("result"))
            if event.get("subtype") == "error_max_turns":
                stream.final_text = f"it stopped at its turn limit ({stream.turns} turns)"
            cost = event.get("total_cost_usd")
            stream.events.append({"type": "note", "text": f"Claude Code finished ({event.get('subtype', '')}) after "
                                  f"{stream.turns} turns: {stream.final_text}", "agent_cost_usd": cost,
                                  "is_error": bool(event.get("is_error"))})
        else:
            stream.events.append(kept(event))
    for index, name, tool_input in pending.values():  # calls whose result never came (the agent was stopped)
        stream.events[index] = tool_call(name, tool_input, "", False, action_of(name, tool_input, False))
    return stream


def _has_results(event: dict[str, Any]) -> bool:
    content = (event.get("message") or {}).get("content")
    return isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)
