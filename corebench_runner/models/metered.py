"""A model client that keeps count of what every call cost, whatever becomes of the attempt.

The run engine wraps each attempt's model in one, so usage spent by an attempt that crashed or
was retried is still charged to its task (a scaffold's own Submission is lost with the attempt).
`on_call` hears of each call's usage the moment it returns (the run's usage journal writes it
to the store, so even a killed process leaves a record). Everything but `complete` passes
through to the wrapped client.
"""

from __future__ import annotations

from typing import Any, Callable

from corebench_runner.models.base import ModelClient, ModelResponse
from corebench_runner.records import Usage


class MeteredModel:
    def __init__(self, inner: ModelClient, spent: Usage, on_call: Callable[[Usage], object] | None = None) -> None:
        self._inner = inner
        self.spent = spent  # the caller's Usage, added to in place
        self._on_call = on_call

    def complete(self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
                 max_tokens: int = 4096) -> ModelResponse:
        response = self._inner.complete(system, messages, tools, max_tokens=max_tokens)
        self.spent.add(response.usage)
        if self._on_call is not None:
            self._on_call(response.usage)
        return response

    def record_call(self, usage: Usage) -> None:
        """A call made for this model by something outside it (an agent CLI through the metering
        relay): counted and journaled the same way, as it happens."""
        self.spent.add(usage)
        if self._on_call is not None:
            self._on_call(usage)

    def __getattr__(self, name: str) -> Any:  # name, model, base_url, close, ... of the real client
        return getattr(self._inner, name)
