"""Reading what a model call used from the answer the relay passes through, in each wire protocol.

Anthropic Messages: `usage` of a message (input excludes cache reads and writes); streamed, the
input side in message_start and running output totals in each message_delta.
OpenAI Responses: `usage` of a response (input_tokens includes input_tokens_details.cached_tokens);
streamed, in the response of the final event (response.completed / .incomplete / .failed).
OpenAI Chat Completions: `usage` of a chat.completion (prompt_tokens includes
prompt_tokens_details.cached_tokens); streamed, in the chunk that carries it (the relay asks for
it with stream_options.include_usage).
Cached input is counted as cache reads and the rest as plain input, so one price table serves all.
"""

from __future__ import annotations

import json
from typing import Any

from corebench_runner.records import Usage

MESSAGES, RESPONSES, CHAT = "anthropic-messages", "openai-responses", "openai-chat"
_FINAL_RESPONSE_EVENTS = ("response.completed", "response.incomplete", "response.failed")


def _count(raw: dict[str, Any], key: str) -> int:
    value = raw.get(key)
    return int(value) if isinstance(value, (int, float)) else 0


def usage_of(protocol: str, raw: dict[str, Any]) -> Usage:
    """The protocol's usage object as a Usage of one call (cost not set)."""
    if protocol == MESSAGES:
        return Usage(_count(raw, "input_tokens"), _count(raw, "output_tokens"),
                     _count(raw, "cache_creation_input_tokens"), _count(raw, "cache_read_input_tokens"),
                     cost_usd=None, calls=1)
    prompt, completion, details = (("input_tokens", "output_tokens", "input_tokens_details") if protocol == RESPONSES
                                   else ("prompt_tokens", "completion_tokens", "prompt_tokens_details"))
    cached = _count(raw.get(details) or {}, "cached_tokens")
    return Usage(max(0, _count(raw, prompt) - cached), _count(raw, completion), 0, cached, cost_usd=None, calls=1)


def usage_of_body(protocol: str, payload: bytes) -> tuple[str, Usage | None]:
    """(model, usage) of a complete answer; usage None when it is not a billed model answer."""
    try:
        data = json.loads(payload)
    except ValueError:
        return "", None
    if not isinstance(data, dict):
        return "", None
    kind = data.get("type") if protocol == MESSAGES else data.get("object")
    if kind not in ("message", "response", "chat.completion") or not isinstance(data.get("usage"), dict):
        return "", None  # e.g. count_tokens or a model list: free, nothing to meter
    return str(data.get("model") or ""), usage_of(protocol, data["usage"])


class StreamUsageReader:
    """Follows a streamed answer chunk by chunk and keeps its model and final usage."""

    def __init__(self, protocol: str) -> None:
        self.protocol = protocol
        self._buffer = b""
        self._raw: dict[str, Any] = {}
        self.model = ""
        self.usage: Usage | None = None
        self.finished = False  # the answer's last event went by: its usage is final

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk.replace(b"\r\n", b"\n")
        while b"\n\n" in self._buffer:
            event, self._buffer = self._buffer.split(b"\n\n", 1)
            self._read_event(event)

    def _read_event(self, event: bytes) -> None:
        data = b"\n".join(line[5:].lstrip() for line in event.split(b"\n") if line.startswith(b"data:"))
        if data == b"[DONE]":
            self.finished = True
        try:
            payload = json.loads(data) if data and data != b"[DONE]" else None
        except ValueError:
            return
        if not isinstance(payload, dict):
            return
        if self.protocol == MESSAGES:
            self._read_messages_event(payload)
        elif self.protocol == RESPONSES:
            if payload.get("type") in _FINAL_RESPONSE_EVENTS:
                self.finished = True
                response = payload.get("response") or {}
                self.model = response.get("model") or self.model
                if isinstance(response.get("usage"), dict):
                    self.usage = usage_of(RESPONSES, response["usage"])
        elif isinstance(payload.get("usage"), dict):
            self.model = payload.get("model") or self.model
            self.usage = usage_of(CHAT, payload["usage"])

    def _read_messages_event(self, payload: dict[str, Any]) -> None:
        # message_start carries the input side; each message_delta's totals replace what came before.
        if payload.get("type") == "message_start":
            message = payload.get("message") or {}
            self.model = message.get("model") or self.model
            self._raw.update({k: v for k, v in (message.get("usage") or {}).items() if v is not None})
        elif payload.get("type") == "message_delta":
            self._raw.update({k: v for k, v in (payload.get("usage") or {}).items() if v is not None})
        elif payload.get("type") == "message_stop":
            self.finished = True
            return
        else:
            return
        self.usage = usage_of(MESSAGES, self._raw)
