"""OpenAI's two wire shapes for one scripted reply: the Responses API and Chat Completions.

A scripted step's content is a list of blocks in the scripts' own terms (`text`, `tool_use`
with a JSON `input`, `custom_tool_use` with a free-text `input`, as Codex's apply_patch
takes); this module turns it into a complete answer of either API and into the server-sent
events each API streams: Responses' named events ending in `response.completed` (which
carries the usage), and Chat Completions' `chat.completion.chunk`s ending in a usage chunk
when the request asked for one (`stream_options.include_usage`), then `[DONE]`.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Iterator


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def usage_fields(input_tokens: int, cached_tokens: int, output_tokens: int) -> dict[str, Any]:
    """Responses usage: input_tokens counts the cached ones too, as the API reports it."""
    return {"input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": cached_tokens},
            "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens}


def chat_usage(usage: dict[str, Any]) -> dict[str, Any]:
    return {"prompt_tokens": usage["input_tokens"], "completion_tokens": usage["output_tokens"],
            "total_tokens": usage["total_tokens"],
            "prompt_tokens_details": {"cached_tokens": usage["input_tokens_details"]["cached_tokens"],
                                      "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}


# ------------------------------------------------------------------ Responses API
def response_items(content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Output items for the scripted blocks: messages, function calls, custom tool calls."""
    items: list[dict[str, Any]] = []
    for block in content:
        kind = block.get("type")
        if kind == "tool_use":
            items.append({"id": _id("fc"), "type": "function_call", "status": "completed",
                          "call_id": block.get("id") or _id("call"), "name": block["name"],
                          "arguments": json.dumps(block.get("input") or {})})
        elif kind == "custom_tool_use":
            items.append({"id": _id("ctc"), "type": "custom_tool_call", "status": "completed",
                          "call_id": block.get("id") or _id("call"), "name": block["name"],
                          "input": str(block.get("input") or "")})
        else:
            items.append({"id": _id("msg"), "type": "message", "status": "completed", "role": "assistant",
                          "content": [{"type": "output_text", "text": block.get("text", ""), "annotations": [],
                                       "logprobs": []}]})
    return items


def response_object(body: dict[str, Any], items: list[dict[str, Any]], usage: dict[str, Any],
                    incomplete: bool = False) -> dict[str, Any]:
    """A complete Responses API answer."""
    return {"id": _id("resp"), "object": "response", "created_at": int(time.time()),
            "status": "incomplete" if incomplete else "completed", "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
            "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
            "model": body["model"], "output": items, "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": None, "reasoning": {"effort": None, "summary": None},
            "store": body.get("store", True), "temperature": 1.0, "text": {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [], "top_p": 1.0,
            "truncation": "disabled", "usage": usage, "user": None, "metadata": {}}


def response_events(response: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event name, data) pairs the Responses API streams for `response`."""
    number = iter(range(1_000_000))
    opening = {**response, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None}

    def event(name: str, **fields: Any) -> tuple[str, dict[str, Any]]:
        return name, {"type": name, "sequence_number": next(number), **fields}

    yield event("response.created", response=opening)
    yield event("response.in_progress", response=opening)
    for index, item in enumerate(response["output"]):
        where = {"item_id": item["id"], "output_index": index}
        if item["type"] == "message":
            yield event("response.output_item.added", output_index=index,
                        item={**item, "status": "in_progress", "content": []})
            part = item["content"][0]
            yield event("response.content_part.added", **where, content_index=0,
                        part={**part, "text": ""})
            yield event("response.output_text.delta", **where, content_index=0, delta=part["text"], logprobs=[])
            yield event("response.output_text.done", **where, content_index=0, text=part["text"], logprobs=[])
            yield event("response.content_part.done", **where, content_index=0, part=part)
        elif item["type"] == "function_call":
            yield event("response.output_item.added", output_index=index,
                        item={**item, "status": "in_progress", "arguments": ""})
            yield event("response.function_call_arguments.delta", **where, delta=item["arguments"])
            yield event("response.function_call_arguments.done", **where, arguments=item["arguments"])
        else:
            yield event("response.output_item.added", output_index=index,
                        item={**item, "status": "in_progress", "input": ""})
            yield event("response.custom_tool_call_input.delta", **where, delta=item["input"])
            yield event("response.custom_tool_call_input.done", **where, input=item["input"])
        yield event("response.output_item.done", output_index=index, item=item)
    final = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
    yield event(final, response=response)


# ------------------------------------------------------------------ Chat Completions
def chat_completion(body: dict[str, Any], content: list[dict[str, Any]], usage: dict[str, Any],
                    incomplete: bool = False) -> dict[str, Any]:
    """A complete Chat Completions answer."""
    text = "".join(b.get("text", "") for b in content if b.get("type") not in ("tool_use", "custom_tool_use"))
    calls = [{"id": b.get("id") or _id("call"), "type": "function",
              "function": {"name": b["name"], "arguments": json.dumps(b.get("input") or {})
                           if b["type"] == "tool_use" else str(b.get("input") or "")}}
             for b in content if b.get("type") in ("tool_use", "custom_tool_use")]
    message: dict[str, Any] = {"role": "assistant", "content": text or None, "refusal": None}
    if calls:
        message["tool_calls"] = calls
    finish = "length" if incomplete else ("tool_calls" if calls else "stop")
    return {"id": _id("chatcmpl"), "object": "chat.completion", "created": int(time.time()), "model": body["model"],
            "system_fingerprint": None, "service_tier": "default",
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": chat_usage(usage)}


def chat_chunks(completion: dict[str, Any], include_usage: bool) -> Iterator[dict[str, Any]]:
    """The chat.completion.chunk objects Chat Completions streams for `completion`."""
    head = {k: completion[k] for k in ("id", "created", "model", "system_fingerprint", "service_tier")}
    extra = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**head, "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}

    choice = completion["choices"][0]
    message = choice["message"]
    yield chunk({"role": "assistant", "content": "", "refusal": None})
    if message.get("content"):
        yield chunk({"content": message["content"]})
    for index, call in enumerate(message.get("tool_calls") or []):
        yield chunk({"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                                     "function": {"name": call["function"]["name"], "arguments": ""}}]})
        yield chunk({"tool_calls": [{"index": index, "function": {"arguments": call["function"]["arguments"]}}]})
    yield chunk({}, choice["finish_reason"])
    if include_usage:
        yield {**head, "object": "chat.completion.chunk", "choices": [], "usage": completion["usage"]}


def encode_data(data: dict[str, Any] | str, name: str | None = None) -> bytes:
    """One server-sent event; Chat Completions sends data lines only, Responses names its events."""
    text = data if isinstance(data, str) else json.dumps(data)
    return (f"event: {name}\n" if name else "").encode() + f"data: {text}\n\n".encode()
