"""The model client contract, shaped like the Messages API.

Messages and content blocks use Anthropic's wire shapes (role/content, text, image,
tool_use, tool_result blocks) so transcripts are uniform; an OpenAI-compatible client
translates at its edge. A client lives for one task: the engine binds the task's deadline to it
first and closes it when the task ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from corebench_runner.deadline import Deadline
from corebench_runner.records import Usage


@dataclass
class ModelResponse:
    content: list[dict[str, Any]]  # blocks: {"type": "text", ...} / {"type": "tool_use", ...}
    stop_reason: str | None
    usage: Usage = field(default_factory=Usage)
    model: str = ""


@runtime_checkable
class ModelClient(Protocol):
    name: str
    """The --model spec it was made from, e.g. "anthropic:claude-opus-5-5" or "scripted:FILE"."""

    model: str
    """The model's id as its API knows it (what prices are looked up by)."""

    def complete(
        self,
        system: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        max_tokens: int = 4096,
    ) -> ModelResponse:
        """One call; raises models.errors.ModelUnavailable when the API stays unreachable after retries."""
        ...

    def bind_deadline(self, deadline: Deadline) -> None:
        """Bound every later call, retries included, by this task's deadline (DeadlineReached once it passes)."""
        ...

    def close(self) -> None:
        """Release what the client holds: its HTTP connections, and a scripted client's local server."""
        ...


@runtime_checkable
class RemoteModel(ModelClient, Protocol):
    """A client of a model API, whose calls an agent's relay can make on the agent's behalf."""

    protocol: str
    """The wire protocol it speaks: "anthropic-messages", "openai-responses" or "openai-chat"."""

    base_url: str
    """Where its calls go (a scripted session's local server, or the provider's API)."""

    api_key: str
    """The key it sends; it stays on the host."""
