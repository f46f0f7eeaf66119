"""Codex's `codex exec --json` -> transcript events.

Codex prints thread/turn/item events: `thread.started` names the thread (what `codex exec
resume` takes), each `item.completed` is one finished item (agent_message, reasoning,
command_execution with its output and exit code, file_change, mcp_tool_call, ...), and each
`turn.completed` carries that turn's usage. `item.started` is the same item unfinished and
is kept only when the item never completes (the agent was stopped mid-command).
"""

from __future__ import annotations

from typing import Any

from corebench_runner.agents.cli_agents.normalise import AgentStream, json_lines, kept, message, text_of, tool_call


def read(stdout: str, stream: AgentStream | None = None) -> AgentStream:
    stream = AgentStream() if stream is None else stream
    unfinished: dict[str, dict[str, Any]] = {}
    for event in json_lines(stdout, stream):
        kind = event.get("type")
        item = event.get("item") if isinstance(event.get("item"), dict) else None
        if kind == "thread.started":
            stream.session_id = str(event.get("thread_id") or "")
            stream.events.append({"type": "note", "text": f"Codex started thread {stream.session_id}"})
        elif kind == "item.started" and item is not None:
            unfinished[str(item.get("id"))] = item
        elif kind in ("item.completed", "item.updated") and item is not None:
            if kind == "item.completed":
                unfinished.pop(str(item.get("id")), None)
                stream.events.append(_item(item, stream))
            else:
                unfinished[str(item.get("id"))] = item
        elif kind == "turn.completed":
            stream.turns += 1
        elif kind in ("turn.started",):
            continue
        elif kind in ("turn.failed", "error"):
            error = event.get("error") if isinstance(event.get("error"), dict) else event
            stream.final_text = text_of(error.get("message")) or stream.final_text
            stream.events.append({"type": "note", "text": f"Codex {kind}: {stream.final_text}", "is_error": True})
        else:
            stream.events.append(kept(event))
    for item in unfinished.values():
        stream.events.append(_item(item, stream))
    return stream


def _item(item: dict[str, Any], stream: AgentStream) -> dict[str, Any]:
    kind = item.get("type") or item.get("item_type")
    if kind == "agent_message":
        stream.final_text = text_of(item.get("text"))
        return message(stream.final_text)
    if kind == "reasoning":
        return {"type": "note", "text": text_of(item.get("text")), "label": "reasoning"}
    if kind == "command_execution":
        exit_code = item.get("exit_code")
        failed = item.get("status") == "failed" or (isinstance(exit_code, int) and exit_code != 0)
        command = text_of(item.get("command"))
        return tool_call("shell", {"command": command}, text_of(item.get("aggregated_output")), failed,
                         {"kind": "command", "command": command, "exit_code": exit_code}, exit_code=exit_code)
    if kind == "file_change":
        changes = [c for c in item.get("changes") or [] if isinstance(c, dict)]
        paths = ", ".join(str(c.get("path", "")) for c in changes)
        failed = item.get("status") == "failed"
        kinds = {str(c.get("kind")) for c in changes}
        return tool_call("apply_patch", {"changes": changes}, str(item.get("status", "")), failed,
                         {"kind": "write" if kinds == {"add"} else "edit", "path": paths, "failed": failed})
    if kind == "mcp_tool_call":
        name = f"{item.get('server', '')}.{item.get('tool', '')}"
        failed = item.get("status") == "failed"
        output = text_of((item.get("result") or {}).get("content") if isinstance(item.get("result"), dict)
                         else item.get("error"))
        return tool_call(name, item.get("arguments"), output, failed, {"kind": "other"})
    if kind == "web_search":
        return tool_call("web_search", {"query": item.get("query")}, "", False, {"kind": "other"})
    if kind == "error":
        return {"type": "note", "text": text_of(item.get("message")), "is_error": True}
    return {"type": "agent_event", "event": {"type": "item", "item": item}}
