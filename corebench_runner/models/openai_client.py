"""An OpenAI client (OpenAI, vLLM, llama.cpp, ...) via the `openai` SDK: Responses or Chat Completions.

Scaffolds speak Anthropic-shaped messages; this client translates at its edge. For Chat
Completions (here): tool_use <-> tool_calls, tool_result -> role "tool" messages, base64 image
blocks -> data URLs; for the Responses API: models/openai_responses.py, which also holds the rules
both follow (a user turn's order, image URLs, arguments read back, cached input).
Usage is mapped so that cached prompt tokens count as cache reads, not plain input.
"""

from __future__ import annotations

import json
import os
from typing import Any

from corebench_runner.deadline import Deadline, bounded, http_hooks
from corebench_runner.errors import UserError
from corebench_runner.gc_paused import gc_paused
from corebench_runner.models import openai_responses as responses
from corebench_runner.models.base import ModelResponse
from corebench_runner.models.errors import ModelUnavailable
from corebench_runner.models.pricing import CostMeter
from corebench_runner.models.tls import shared_tls_context
from corebench_runner.records import Usage

with gc_paused():  # the SDK's many classes: see gc_paused.py
    import openai

KEY_ENV = "OPENAI_API_KEY"
LOCAL_SERVER_KEY = "not-needed"  # local servers (vLLM, ...) usually accept any key
STOP_REASONS = {"tool_calls": "tool_use", "function_call": "tool_use", "stop": "end_turn", "length": "max_tokens"}


def _parts(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [{"type": "text", "text": b["text"]} if b["type"] == "text"
            else {"type": "image_url", "image_url": {"url": responses.image_url(b)}}
            for b in content if b["type"] in ("text", "image")]


def to_openai_messages(system: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for message in messages:
        content = message["content"]
        if message["role"] == "assistant":
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
            text = "".join(b["text"] for b in blocks if b["type"] == "text")
            calls = [{"id": b["id"], "type": "function",
                      "function": {"name": b["name"], "arguments": json.dumps(b["input"])}}
                     for b in blocks if b["type"] == "tool_use"]
            out.append({"role": "assistant", "content": text or None, **({"tool_calls": calls} if calls else {})})
            continue
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        results, parts = responses.user_turn(blocks, _parts)
        out += [{"role": "tool", "tool_call_id": call_id, "content": output} for call_id, output in results]
        if parts:
            out.append({"role": "user", "content": parts})
    return out


def to_openai_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": t["name"], "description": t.get("description", ""),
                                              "parameters": t["input_schema"]}} for t in tools]


def from_openai_message(message: Any) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "text", "text": message.content}] if message.content else []
    for call in message.tool_calls or []:
        blocks.append({"type": "tool_use", "id": call.id, "name": call.function.name,
                       "input": responses.tool_input(call.function.arguments)})
    return blocks


APIS = ("responses", "chat")


class OpenAIClient:
    """A ModelClient for `--model openai:MODEL` (with --base-url for a local OpenAI-compatible server).

    api "responses" talks the Responses API (OpenAI's own, what Codex CLI speaks); "chat" talks
    Chat Completions (what local servers such as vLLM serve best). The default: Responses for
    OpenAI itself, Chat Completions when a base URL names another server.
    """

    def __init__(self, model: str, *, api_key: str | None = None, base_url: str | None = None,
                 max_retries: int = 8, timeout: float = 600.0, api: str | None = None,
                 name: str | None = None) -> None:
        api_key = api_key or os.environ.get(KEY_ENV) or (LOCAL_SERVER_KEY if base_url else None)
        if not api_key:
            raise UserError(f"${KEY_ENV} is not set; export your key, or pass --base-url for a local "
                            "OpenAI-compatible server")
        self.model = model
        self.name = name or f"openai:{model}"
        self._official = base_url is None and not os.environ.get("OPENAI_BASE_URL")
        self.api = api or ("responses" if self._official else "chat")
        if self.api not in APIS:
            raise ValueError(f"api must be one of {APIS}, not {self.api!r}")
        self.deadline = Deadline()  # none until a task binds its own (anthropic_client.py does the same)
        http_client = openai.DefaultHttpxClient(event_hooks=http_hooks(lambda: self.deadline),
                                                verify=shared_tls_context())
        self._sdk = openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=max_retries, timeout=timeout,
                                  http_client=http_client)
        self._meter = CostMeter(model)

    @property
    def protocol(self) -> str:
        """The wire protocol this client speaks: "openai-responses" or "openai-chat"."""
        return "openai-responses" if self.api == "responses" else "openai-chat"

    @property
    def api_key(self) -> str:
        """For host-side relays that forward calls; never put it in a container."""
        return self._sdk.api_key

    @property
    def base_url(self) -> str:
        return str(self._sdk.base_url).rstrip("/")

    def close(self) -> None:
        """Release the HTTP connections (the run engine calls this when a task ends)."""
        self._sdk.close()

    def bind_deadline(self, deadline: Deadline) -> None:
        """Bound every later call by this task's deadline (DeadlineReached once it passes)."""
        self.deadline = deadline

    def complete(self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
                 max_tokens: int = 4096) -> ModelResponse:
        if self.api == "responses":
            return self._respond(system, messages, tools, max_tokens)
        kwargs: dict[str, Any] = {"model": self.model, "messages": to_openai_messages(system, messages)}
        # OpenAI's own API wants max_completion_tokens; local servers know max_tokens best.
        kwargs["max_completion_tokens" if self._official else "max_tokens"] = max_tokens
        if tools:
            kwargs["tools"] = to_openai_tools(tools)
        reply = self._call(self._sdk.chat.completions.create, kwargs)
        if not reply.choices:
            raise ModelUnavailable(f"{self._sdk.base_url} answered with no choices")
        choice = reply.choices[0]
        usage = Usage(calls=1) if reply.usage is None else responses.cached_usage(
            reply.usage.prompt_tokens, reply.usage.completion_tokens, getattr(reply.usage, "prompt_tokens_details", None))
        return ModelResponse(content=from_openai_message(choice.message),
                             stop_reason=STOP_REASONS.get(choice.finish_reason, choice.finish_reason),
                             usage=self._meter.priced(usage), model=reply.model)

    def _respond(self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
                 max_tokens: int) -> ModelResponse:
        # store=False: the whole conversation goes with every call, so nothing is kept at OpenAI
        # and the repeated prefix is what its automatic prompt caching bills as cached input.
        kwargs: dict[str, Any] = {"model": self.model, "input": responses.to_input_items(messages),
                                  "max_output_tokens": max_tokens, "store": False}
        if system:
            kwargs["instructions"] = system
        if tools:
            kwargs["tools"] = responses.to_function_tools(tools)
        reply = self._call(self._sdk.responses.create, kwargs)
        if reply.status == "failed":
            raise ModelUnavailable(f"{self.base_url} failed the response: {getattr(reply.error, 'message', '')}")
        blocks = responses.from_output(reply)
        return ModelResponse(content=blocks, stop_reason=responses.stop_reason(reply, blocks),
                             usage=self._meter.priced(responses.usage_of(reply)), model=reply.model)

    def _call(self, create: Any, kwargs: dict[str, Any]) -> Any:
        try:
            with bounded(self.deadline):
                return create(**kwargs)
        except openai.AuthenticationError as exc:
            raise UserError(f"the API at {self._sdk.base_url} rejected the key in ${KEY_ENV} "
                            f"({exc.status_code}); check the key") from None
        except openai.NotFoundError:
            raise UserError(f"--model openai:{self.model}: not found at {self._sdk.base_url}; "
                            "check the model name and --base-url") from None
        except openai.APIStatusError as exc:
            raise ModelUnavailable(f"OpenAI-compatible API error {exc.status_code} at {self._sdk.base_url}: "
                                   f"{exc.message}") from exc
        except openai.APIConnectionError as exc:
            raise ModelUnavailable(f"cannot reach {self._sdk.base_url}: {exc}") from exc
