"""Anthropic-shaped messages to the OpenAI Responses API's input items, and its output back.

user text/image -> a user message of input_text / input_image parts; assistant text -> an
assistant message of output_text; tool_use -> a function_call item (call_id = the block's id);
tool_result -> a function_call_output item. Images a tool result carries cannot go in a
function_call_output's text, so they follow in a user message, as on the Chat Completions path.
"""

from __future__ import annotations

import json
from typing import Any

from corebench_runner.records import Usage


def _image_url(block: dict[str, Any]) -> str:
    source = block["source"]
    return source["url"] if source.get("type") == "url" else f"data:{source['media_type']};base64,{source['data']}"


def _input_parts(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "input_text", "text": content}]
    return [{"type": "input_text", "text": b["text"]} if b["type"] == "text"
            else {"type": "input_image", "image_url": _image_url(b), "detail": "auto"}
            for b in content if b["type"] in ("text", "image")]


def to_input_items(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for message in messages:
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if message["role"] == "assistant":
            for block in blocks:
                if block["type"] == "text" and block["text"]:
                    items.append({"role": "assistant", "content": [{"type": "output_text", "text": block["text"]}]})
                elif block["type"] == "tool_use":
                    items.append({"type": "function_call", "call_id": block["id"], "name": block["name"],
                                  "arguments": json.dumps(block["input"])})
            continue
        images: list[dict[str, Any]] = []
        rest: list[dict[str, Any]] = []
        for block in blocks:
            if block["type"] == "tool_result":
                parts = _input_parts(block.get("content") or "")
                output = "\n".join(p["text"] for p in parts if p["type"] == "input_text")
                items.append({"type": "function_call_output", "call_id": block["tool_use_id"], "output": output})
                images += [p for p in parts if p["type"] == "input_image"]
            else:
                rest.append(block)
        parts = images + _input_parts(rest)
        if parts:
            items.append({"role": "user", "content": parts})
    return items


def to_function_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": "function", "name": t["name"], "description": t.get("description", ""),
             "parameters": t["input_schema"], "strict": False} for t in tools]


def from_output(response: Any) -> list[dict[str, Any]]:
    """The response's output items as text and tool_use blocks (reasoning items are not shown)."""
    blocks: list[dict[str, Any]] = []
    for item in response.output or []:
        if item.type == "message":
            text = "".join(getattr(part, "text", "") or "" for part in item.content or [])
            if text:
                blocks.append({"type": "text", "text": text})
        elif item.type == "function_call":
            try:
                arguments = json.loads(item.arguments or "{}")
            except json.JSONDecodeError:
                arguments = {"_unparsed_arguments": item.arguments}  # the tool will report the error
            blocks.append({"type": "tool_use", "id": item.call_id, "name": item.name, "input": arguments})
    return blocks


def stop_reason(response: Any, blocks: list[dict[str, Any]]) -> str:
    if any(b["type"] == "tool_use" for b in blocks):
        return "tool_use"
    details = getattr(response, "incomplete_details", None)
    if response.status == "incomplete" and getattr(details, "reason", "") == "max_output_tokens":
        return "max_tokens"
    return "end_turn"


def usage_of(response: Any) -> Usage:
    """Cached input tokens are cache reads, the rest plain input (the API counts both as input)."""
    usage = response.usage
    if usage is None:
        return Usage(calls=1)
    details = getattr(usage, "input_tokens_details", None)
    cached = (getattr(details, "cached_tokens", 0) or 0) if details else 0
    return Usage(input_tokens=usage.input_tokens - cached, output_tokens=usage.output_tokens,
                 cache_read_input_tokens=cached, calls=1)
