"""The site's transcript search: a static index of what agents ran, saw and said, read by a small script.

No server: the index is a JavaScript file (`search/index.js`, a browser will not fetch a JSON file
from a folder opened from disk, but it will load a script) that assigns one array of entries; the
search page's own script (`static/search.js`) filters it and shows matches with textContent only,
so agent text never becomes markup. The index holds each event's text cut to a few hundred
characters, so it stays small at hundreds of tasks; a match links to the event on its page.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ENTRY_CHARS = 400  # of each field: enough to find a command or an error line, small enough at 500 tasks
INDEX_FILE = "search/index.js"


def entries(run: dict[str, Any], task: dict[str, Any], page_href: str, items: list[dict[str, Any]]) -> list[list]:
    """Index rows for one transcript page: [href#event, run, model, capsule, kind, label, text]."""
    rows = []
    for item in items:
        text = _text_of(item)
        if not text.strip():
            continue
        rows.append([f"{page_href}#event-{item['number']}", str(run["id"]), str(run["model"]), str(task["capsule_id"]),
                     item["kind"].replace("_", " "), str(item.get("name") or item.get("label") or ""), text])
    return rows


def _text_of(item: dict[str, Any]) -> str:
    """What a reader searches for in an item: commands, tool outputs, agent text, notes."""
    parts: list[str] = []
    for key in ("input", "output", "text", "user", "stderr", "reason", "json"):
        value = item.get(key)
        if isinstance(value, str) and value:
            parts.append(value[:ENTRY_CHARS])
    for block in item.get("blocks") or []:
        if block.get("kind") in ("text", "tool_use", "other"):
            parts.append(str(block.get("input") or block.get("text") or "")[:ENTRY_CHARS])
    return "\n".join(parts)


def write_index(rows: list[list], out: Path) -> Path:
    """search/index.js: one assignment of the rows. '<' is escaped so no text can close a script element."""
    target = out / INDEX_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(rows, ensure_ascii=True, separators=(",", ":")).replace("<", "\\u003c")
    target.write_text(f"window.corebenchSearchIndex = {payload};\n", encoding="utf-8")
    return target
