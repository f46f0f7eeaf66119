"""Anthropic-shaped messages to the OpenAI Responses API's input items, and its output back.

user text/image -> a user message of input_text / input_image parts; assistant text -> an
assistant message of output_text; tool_use -> a function_call item (call_id = the block's id);
tool_result -> a function_call_output item. Images a tool result carries cannot go in a
function_call_output's text, so they follow in a user message.

The rules the Chat Completions path (openai_client.py) follows too are here, used by both: a
user turn's order (user_turn), image URLs, a call's arguments read back, cached input as cache
reads. The rest differs in shape, not only in names (Chat Completions puts an assistant turn's
text and calls in one message; here each is an item of its own), so each path writes it out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from corebench_runner.records import Usage

Parts = list[dict[str, Any]]


def image_url(block: dict[str, Any]) -> str:
    """An image block's URL, or its bytes as a data URL."""
    source = block["source"]
    return source["url"] if source.get("type") == "url" else f"data:{source['media_type']};base64,{source['data']}"


def user_turn(blocks: list[dict[str, Any]], parts_of: Callable[[str | list[dict[str, Any]]], Parts]
              ) -> tuple[list[tuple[str, str]], Parts]:
    """A user turn as both OpenAI APIs take it: its tool results first, as (call id, text), since they
    must directly follow the assistant's calls; then the parts of a user message: the images the
    results carried (a tool's output holds text only), then the turn's other blocks. `parts_of` makes
    the API's parts; a part with a "text" is text, any other an image."""
    results: list[tuple[str, str]] = []
    images: Parts = []
    rest: list[dict[str, Any]] = []
    for block in blocks:
        if block["type"] == "tool_result":
            parts = parts_of(block.get("content") or "")
            results.append((block["tool_use_id"], "\n".join(p["text"] for p in parts if "text" in p)))
            images += [p for p in parts if "text" not in p]
        else:
            rest.append(block)
    return results, images + parts_of(rest)


def tool_input(arguments: str | None) -> dict[str, Any]:
    """A call's JSON arguments as its tool_use input."""
    try:
        return json.loads(arguments or "{}")
    except json.JSONDecodeError:
        return {"_unparsed_arguments": arguments}  # the tool will report the error


def cached_usage(input_tokens: int, output_tokens: int, details: Any) -> Usage:
    """One call's usage: the cached input tokens (which both APIs count as input too) are cache reads."""
    cached = (getattr(details, "cached_tokens", 0) or 0) if details else 0
    return Usage(input_tokens=input_tokens - cached, output_tokens=output_tokens, cache_read_input_tokens=cached,
                 calls=1)


def _input_parts(content: str | list[dict[str, Any]]) -> Parts:
    if isinstance(content, str):
        return [{"type": "input_text", "text": content}]
    return [{"type": "input_text", "text": b["text"]} if b["type"] == "text"
            else {"type": "input_image", "image_url": image_url(b), "detail": "auto"}
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
        results, parts = user_turn(blocks, _input_parts)
        items += [{"type": "function_call_output", "call_id": call_id, "output": output} for call_id, output in results]
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
            blocks.append({"type": "tool_use", "id": item.call_id, "name": item.name, "input": tool_input(item.arguments)})
    return blocks


def stop_reason(response: Any, blocks: list[dict[str, Any]]) -> str:
    if any(b["type"] == "tool_use" for b in blocks):
        return "tool_use"
    details = getattr(response, "incomplete_details", None)
    if response.status == "incomplete" and getattr(details, "reason", "") == "max_output_tokens":
        return "max_tokens"
    return "end_turn"


def usage_of(response: Any) -> Usage:
    usage = response.usage
    if usage is None:
        return Usage(calls=1)
    return cached_usage(usage.input_tokens, usage.output_tokens, getattr(usage, "input_tokens_details", None))
