"""A model client that keeps count of what every call cost, whatever becomes of the attempt.

The run engine wraps each attempt's model in one, so usage spent by an attempt that crashed or
was retried is still charged to its task (a scaffold's own Submission is lost with the attempt).
`on_call` hears of each call's usage the moment it returns (the run's usage journal writes it
to the store, so even a killed process leaves a record). The rest of ModelClient goes to the
wrapped client, and so does what relays read (protocol, base_url, api_key).
"""

from __future__ import annotations

from typing import Any, Callable

from corebench_runner.deadline import Deadline
from corebench_runner.models.base import ModelClient, ModelResponse
from corebench_runner.records import Usage


class MeteredModel:
    def __init__(self, inner: ModelClient, spent: Usage, on_call: Callable[[Usage], object] | None = None) -> None:
        self._inner = inner
        self.spent = spent  # the caller's Usage, added to in place
        self._on_call = on_call
        self.name = inner.name
        self.model = inner.model

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

    def bind_deadline(self, deadline: Deadline) -> None:
        self._inner.bind_deadline(deadline)

    def close(self) -> None:
        self._inner.close()

    def __getattr__(self, name: str) -> Any:  # protocol, base_url, api_key, ... of the real client
        return getattr(self._inner, name)
