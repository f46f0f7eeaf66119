"""A task's transcript as plain terminal text, for `corebench show RUN --task ID --transcript`.

It reads the same items the site lays out (report/transcripts.py), so both show the same events
in the same order. Everything an agent wrote goes through `printable`: an escape sequence in a
tool's output is shown, never obeyed by the terminal. Long outputs are folded to their first and
last lines; the transcript file's path is printed so the whole of it is one `less` away.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from corebench_runner.report.transcripts import transcript_items
from corebench_runner.review.screen import printable

FOLD_LINES = 20  # lines kept at each end of a long output or text
INDENT = "    "


def transcript_lines(events: list[Any], *, fold: bool = True) -> list[str]:
    """One block of lines per event: a heading line, then its text indented."""
    with tempfile.TemporaryDirectory(prefix="corebench-show-") as scratch:  # viewed figures: named, not drawn
        items = transcript_items(events, Path(scratch), "figure", "figures")
    lines: list[str] = []
    for item in items:
        lines += _item_lines(item, fold)
    return lines


def seconds_text(value: Any) -> str:
    """'0.02 s', '12.3 s', '4 min 05 s' from a number of seconds; '' when there is none."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return ""
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def _item_lines(item: dict[str, Any], fold: bool) -> list[str]:
    kind = item["kind"]
    number = item["number"]
    if kind == "prompt":
        return ([f"[{number}] prompt" + (f" (tools: {item['tools']})" if item["tools"] else "")]
                + _block("system", item["system"], fold) + _block("user", item["user"], fold))
    if kind == "model_call":
        when = ", ".join(part for part in (_at(item["t"]), seconds_text(item["seconds"]), item["usage"]) if part)
        lines = [f"[{number}] model call" + (f", step {item['step']}" if item["step"] else "")
                 + (f" ({when})" if when else "") + (f", stopped: {item['stop_reason']}" if item["stop_reason"] else "")]
        for block in item["blocks"]:
            if block["kind"] == "tool_use":
                lines += _block(f"asks for {block['name']}", block["input"], fold)
            elif block["kind"] == "tool_ref":  # the call itself follows as its own event, with its input
                lines += _block(f"asks for {block['name']}", f"(see [{block['event']}] below)", fold)
            else:
                lines += _block("", block["text"], fold)
        return lines
    if kind == "tool_call":
        facts = [part for part in (f"exit {item['exit_code']}" if item["exit_code"] else "",
                                   seconds_text(item["seconds"]), *item["flags"]) if part]
        heading = f"[{number}] {item['name'] or 'tool'}" + (f" ({', '.join(facts)})" if facts else "")
        shown_input = ("$ " + item["input"]) if "\n" not in item["input"] else item["input"]
        return [printable(heading)] + _block("", shown_input, fold) + _block("output", item["output"], fold)
    if kind == "note":
        return [f"[{number}] {printable(item['label'])}" + (" (error)" if item.get("failed") else "")] + \
            _block("", item["text"], fold)
    if kind == "agent_run":
        facts = [part for part in (item["version"], item["model"], f"attempt {item['attempt']}" if item["attempt"] else "",
                                   f"exit {item['exit_code']}" if item["exit_code"] else "",
                                   seconds_text(item["seconds"]), *item["flags"]) if part]
        return [printable(f"[{number}] agent {item['agent']} ({', '.join(facts)})")] + \
            _block("stderr", item["stderr"], fold)
    if kind == "image":
        shown = "figure viewed" if item["src"] else item["problem"]
        return [printable(f"[{number}] image {item['path']} ({item['media_type']}): {shown}")]
    if kind == "end":
        return [printable(f"[{number}] end: {item['outcome']}" + (f" after {item['steps']} steps" if item["steps"] else "")
                          + (f"; {item['reason']}" if item["reason"] else ""))]
    return [printable(f"[{number}] {item['label']}")] + _block("", item["json"], fold)


def _at(t: str) -> str:
    shown = seconds_text(t)
    return f"at {shown}" if shown else ""


def _block(label: str, text: str, fold: bool) -> list[str]:
    """The text indented under an optional label, its control characters shown, long ones folded."""
    if not text:
        return []
    rows = printable(text).splitlines() or [""]
    if fold and len(rows) > 2 * FOLD_LINES + 1:
        hidden = len(rows) - 2 * FOLD_LINES
        rows = rows[:FOLD_LINES] + [f"... {hidden} lines not shown (--full shows them) ..."] + rows[-FOLD_LINES:]
    head = [f"{INDENT}{label}:"] if label else []
    pad = INDENT * (2 if label else 1)
    return head + [pad + row for row in rows]
