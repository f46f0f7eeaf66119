"""The model client contract, shaped like the Messages API.

Messages and content blocks use Anthropic's wire shapes (role/content, text, image,
tool_use, tool_result blocks) so transcripts are uniform; an OpenAI-compatible client
translates at its edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from corebench_runner.records import Usage


@dataclass
class ModelResponse:
    content: list[dict[str, Any]]  # blocks: {"type": "text", ...} / {"type": "tool_use", ...}
    stop_reason: str | None
    usage: Usage = field(default_factory=Usage)
    model: str = ""


class ModelClient(Protocol):
    name: str  # e.g. "anthropic:claude-sonnet-4-5"

    def complete(
        self,
        system: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        max_tokens: int = 4096,
    ) -> ModelResponse: ...
