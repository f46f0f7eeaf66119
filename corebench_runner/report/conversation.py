"""A transcript laid out as a conversation a person reads: long tool output folded, errors marked,
and big transcripts split into pages so each renders quickly (the site runs no script, so the
split happens at build time).

Works on the items of transcripts.transcript_items, whatever scaffold produced the events: it adds
`head`/`rest` (the first lines shown, the remainder folded), `lines`, `is_error` and `size`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FOLD_LINES = 8  # tool output shown before the fold
FOLD_CHARS = 1_200
PAGE_CHARS = 600_000  # text per page: a page of this size lays out in well under a second
PAGE_ITEMS = 400
ERROR_FLAGS = {"error", "timed out", "refused"}


@dataclass
class TranscriptPage:
    number: int
    items: list[dict[str, Any]] = field(default_factory=list)


def fold(text: str | None) -> tuple[str, str, int]:
    """(shown, folded, line count): the first FOLD_LINES lines (at most FOLD_CHARS), and the rest."""
    text = text or ""
    lines = text.count("\n") + (1 if text and not text.endswith("\n") else 0)
    head = "".join(text.splitlines(keepends=True)[:FOLD_LINES])[:FOLD_CHARS]
    return head, text[len(head):], lines


def _size(item: dict[str, Any]) -> int:
    total = 0
    for key in ("output", "input", "user", "system", "text", "json", "reason", "stderr"):
        value = item.get(key)
        if isinstance(value, str):
            total += len(value)
    for block in item.get("blocks") or []:
        total += len(block.get("text") or "") + len(block.get("input") or "")
    return total + 200  # the markup around every item


def readable(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each item with its output folded and whether it is an error (for the page's error filter)."""
    for item in items:
        if item["kind"] == "tool_call":
            item["head"], item["rest"], item["lines"] = fold(item.get("output"))
            item["is_error"] = bool(ERROR_FLAGS & set(item.get("flags") or []))
        elif item["kind"] == "note":
            item["is_error"] = bool(item.get("failed"))
        elif item["kind"] == "agent_run":
            item["is_error"] = bool(ERROR_FLAGS & set(item.get("flags") or []))
        elif item["kind"] == "end":
            item["is_error"] = item.get("outcome") not in ("graded", "", None)
        else:
            item["is_error"] = item["kind"] == "other" and "error" in str(item.get("label", "")).lower()
        item["size"] = _size(item)
    return items


def paginate(items: list[dict[str, Any]]) -> list[TranscriptPage]:
    """Consecutive pages of at most PAGE_CHARS of text or PAGE_ITEMS items; always at least one page."""
    pages = [TranscriptPage(1)]
    used = 0
    for item in items:
        current = pages[-1]
        if current.items and (used + item["size"] > PAGE_CHARS or len(current.items) >= PAGE_ITEMS):
            pages.append(TranscriptPage(len(pages) + 1))
            used = 0
        pages[-1].items.append(item)
        used += item["size"]
    return pages


def page_file(task_id: int | str, number: int) -> str:
    """transcripts/<task>.html for the first page (the link every other page uses), then <task>-p<n>.html."""
    return f"{task_id}.html" if number == 1 else f"{task_id}-p{number}.html"


def summary(items: list[dict[str, Any]]) -> dict[str, int]:
    """Counts for the page head: tool calls, errors, model calls."""
    return {"tool_calls": sum(i["kind"] == "tool_call" for i in items),
            "errors": sum(bool(i.get("is_error")) for i in items),
            "model_calls": sum(i["kind"] == "model_call" for i in items)}
