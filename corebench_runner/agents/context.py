"""Keep an agent's conversation inside the model's context window.

Old tool outputs are the bulk of a long session. When the conversation grows past a budget,
the oldest tool results (never those of the last few turns) are replaced by a one-line stub,
oldest first, until it is back under a lower mark. Eliding in large steps means the cached
prompt prefix is rebuilt rarely, not on every turn.
"""

from __future__ import annotations

import json
from typing import Any

CONTEXT_BUDGET_TOKENS = 120_000  # well under the 200k window, leaving room for the reply
ELIDE_DOWN_TO = 0.6  # of the budget
KEEP_RECENT_MESSAGES = 6
IMAGE_TOKENS = 1_600  # what the API bills for a large image, whatever its base64 length
ELIDED = "[old output elided to keep the conversation within the context window; run the command again if needed]"


def block_tokens(block: Any) -> int:
    """A rough count (4 characters a token), with images at their billed size."""
    if isinstance(block, str):
        return len(block) // 4
    if block.get("type") == "image":
        return IMAGE_TOKENS
    if block.get("type") == "tool_result":
        content = block.get("content") or ""
        return sum(block_tokens(part) for part in ([content] if isinstance(content, str) else content))
    return len(json.dumps(block)) // 4


def conversation_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(block_tokens(message["content"]) if isinstance(message["content"], str)
               else sum(block_tokens(b) for b in message["content"]) for message in messages)


def elide_old_outputs(messages: list[dict[str, Any]], budget: int = CONTEXT_BUDGET_TOKENS,
                      keep_recent: int = KEEP_RECENT_MESSAGES) -> int:
    """Replace old tool outputs with a stub (in place) when over budget; returns how many were elided."""
    total = conversation_tokens(messages)
    if total <= budget:
        return 0
    target, elided = budget * ELIDE_DOWN_TO, 0
    for message in messages[:max(0, len(messages) - keep_recent)]:
        if isinstance(message["content"], str):
            continue
        for block in message["content"]:
            if total <= target:
                return elided
            if block.get("type") == "tool_result" and block.get("content") != ELIDED:
                total -= block_tokens(block) - block_tokens(ELIDED)
                block["content"] = ELIDED
                elided += 1
    return elided
