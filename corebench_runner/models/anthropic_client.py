"""The Anthropic Messages API client, through the official `anthropic` SDK.

Retries: the SDK retries 408/409/429/5xx (529 included) with exponential backoff and
honours retry-after / retry-after-ms; we only raise the number of attempts.
Prompt caching: cache_control breakpoints go on the tool list, the system prompt and the
last block of the conversation, so each turn of an agent loop reads the previous turn's
prefix from the cache instead of paying full input price for it.
"""

from __future__ import annotations

import copy
import os
from typing import Any

from corebench_runner.deadline import Deadline, bounded, http_hooks
from corebench_runner.errors import UserError
from corebench_runner.gc_paused import gc_paused
from corebench_runner.models.base import ModelResponse
from corebench_runner.models.errors import ModelUnavailable
from corebench_runner.models.pricing import CostMeter
from corebench_runner.models.tls import shared_tls_context
from corebench_runner.records import Usage

with gc_paused():  # 1.3-2 s of CPU, most of a one-task run: see gc_paused.py
    import anthropic

KEY_ENV = "ANTHROPIC_API_KEY"
EPHEMERAL = {"type": "ephemeral"}


def add_cache_breakpoints(system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
                          ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]] | None]:
    """Copies of (system, messages, tools) with three cache_control breakpoints (the API allows four)."""
    system_blocks = [{"type": "text", "text": system, "cache_control": EPHEMERAL}] if system else []
    tools = copy.deepcopy(tools) if tools else None
    if tools:
        tools[-1]["cache_control"] = EPHEMERAL
    messages = copy.deepcopy(messages)
    if messages:
        last = messages[-1]
        if isinstance(last["content"], str):
            last["content"] = [{"type": "text", "text": last["content"]}]
        if last["content"]:
            last["content"][-1]["cache_control"] = EPHEMERAL
    return system_blocks, messages, tools


def usage_from(api_usage: Any) -> Usage:
    return Usage(input_tokens=api_usage.input_tokens or 0, output_tokens=api_usage.output_tokens or 0,
                 cache_creation_input_tokens=getattr(api_usage, "cache_creation_input_tokens", 0) or 0,
                 cache_read_input_tokens=getattr(api_usage, "cache_read_input_tokens", 0) or 0, calls=1)


class AnthropicClient:
    """A ModelClient for `--model anthropic:MODEL`."""

    protocol = "anthropic-messages"  # the wire protocol, for relays that forward an agent's calls

    def __init__(self, model: str, *, api_key: str | None = None, base_url: str | None = None,
                 max_retries: int = 8, timeout: float = 600.0, prompt_caching: bool = True,
                 name: str | None = None) -> None:
        api_key = api_key or os.environ.get(KEY_ENV)
        if not api_key:
            raise UserError(f"${KEY_ENV} is not set; export your key, or try without one: "
                            "--model scripted:FILE (see docs/models.md)")
        self.model = model
        self.name = name or f"anthropic:{model}"
        self.prompt_caching = prompt_caching
        self.deadline = Deadline()  # none until a task binds its own
        # base_url None lets the SDK use $ANTHROPIC_BASE_URL, else the public API. The hooks keep
        # every request, retries included, inside the task's deadline.
        http_client = anthropic.DefaultHttpxClient(event_hooks=http_hooks(lambda: self.deadline),
                                                   verify=shared_tls_context())
        self._sdk = anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=max_retries,
                                        timeout=timeout, http_client=http_client)
        self._meter = CostMeter(model)

    def bind_deadline(self, deadline: Deadline) -> None:
        """Bound every later call by this task's deadline (DeadlineReached once it passes)."""
        self.deadline = deadline

    def close(self) -> None:
        """Release the HTTP connections (the run engine calls this when a task ends)."""
        self._sdk.close()

    @property
    def api_key(self) -> str:
        """For host-side relays that forward calls (e.g. the command scaffold's); never put it in a container."""
        return self._sdk.api_key

    @property
    def base_url(self) -> str:
        return str(self._sdk.base_url)

    def complete(self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
                 max_tokens: int = 4096) -> ModelResponse:
        if self.prompt_caching:
            system_param, messages, tools = add_cache_breakpoints(system, messages, tools)
        else:
            system_param = system
        kwargs: dict[str, Any] = {"model": self.model, "max_tokens": max_tokens, "messages": messages}
        if system_param:
            kwargs["system"] = system_param
        if tools:
            kwargs["tools"] = tools
        try:
            with bounded(self.deadline):
                reply = self._sdk.messages.create(**kwargs)
        except anthropic.AuthenticationError as exc:
            raise UserError(f"the Anthropic API rejected the key in ${KEY_ENV} ({exc.status_code}); "
                            "check the key") from None
        except anthropic.NotFoundError as exc:
            raise UserError(f"--model anthropic:{self.model}: the API does not know this model "
                            f"({_message(exc)}); check the name") from None
        except anthropic.APIStatusError as exc:
            raise ModelUnavailable(f"Anthropic API error {exc.status_code} at {self.base_url}: "
                                   f"{_message(exc)}") from exc
        except anthropic.APIConnectionError as exc:
            raise ModelUnavailable(f"cannot reach the Anthropic API at {self.base_url}: {exc}") from exc
        content = [block.model_dump(mode="json", exclude_none=True) for block in reply.content]
        usage = self._meter.priced(usage_from(reply.usage))
        return ModelResponse(content=content, stop_reason=reply.stop_reason, usage=usage, model=reply.model)


def _message(exc: anthropic.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    return f"{error.get('type', 'error')}: {error.get('message', exc.message)}"
