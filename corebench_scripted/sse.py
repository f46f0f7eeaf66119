"""The Messages API's streaming shape: one complete reply as its server-sent events.

Used by local servers that stand in for the API (agent CLIs such as Claude Code only
stream): message_start, then content_block_start / delta / stop for each block, then
message_delta (stop reason and output tokens) and message_stop.
"""

from __future__ import annotations

import json
from typing import Any


def reply_events(reply: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) pairs the API streams for `reply`, a complete Messages response."""
    usage = dict(reply.get("usage") or {})
    start_usage = {k: v for k, v in usage.items() if k != "output_tokens"} | {"output_tokens": 1}
    head = {k: v for k, v in reply.items() if k not in ("content", "stop_reason", "stop_sequence", "usage")}
    events: list[tuple[str, dict[str, Any]]] = [("message_start", {"type": "message_start", "message": {
        **head, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}})]
    for index, block in enumerate(reply.get("content") or []):
        if block["type"] == "tool_use":
            start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block.get("input") or {})}
        elif block["type"] == "thinking":
            start = {"type": "thinking", "thinking": ""}
            delta = {"type": "thinking_delta", "thinking": block.get("thinking", "")}
        else:
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block.get("text", "")}
        events.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": start}))
        events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(("message_delta", {"type": "message_delta",
                                     "delta": {"stop_reason": reply.get("stop_reason"),
                                               "stop_sequence": reply.get("stop_sequence")},
                                     "usage": {"output_tokens": usage.get("output_tokens", 0)}}))
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def encode_event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
