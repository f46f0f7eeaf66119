"""Turn a task's transcript (a JSON list of events, docs/models.md) into items a template lays out.

A transcript is agent-written and may hold any string: every value passed on is plain text
for an autoescaping template, never markup. Figures the agent viewed are written as image
files into the site, and only when they really are PNG or JPEG; anything else is described.
Unknown or malformed events are shown as JSON text, never dropped and never a crash.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

# Only formats a browser shows without running anything; SVG and HTML could carry script.
IMAGE_TYPES = {"image/png": (".png", b"\x89PNG\r\n\x1a\n"), "image/jpeg": (".jpg", b"\xff\xd8\xff")}


def load_events(artifacts_dir: Path, transcript_path: str | None) -> tuple[list[Any], str | None]:
    """The events of a transcript, or ([], why not) when it is missing or unreadable."""
    if not transcript_path:
        return [], "no transcript was kept for this task"
    path = (artifacts_dir / transcript_path).resolve()
    try:
        path.relative_to(artifacts_dir.resolve())
    except ValueError:
        return [], f"transcript path {transcript_path} points outside the artifacts folder; not read"
    if not path.is_file():
        return [], f"transcript file {transcript_path} is missing from {artifacts_dir}"
    try:
        events = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except ValueError as exc:
        return [], f"transcript file {transcript_path} is not valid JSON ({exc})"
    if not isinstance(events, list):
        return [events], None
    return events, None


def transcript_items(events: list[Any], image_dir: Path, image_prefix: str, image_href: str) -> list[dict[str, Any]]:
    """One item per event. image_dir/image_prefix name written figure files; image_href is their link base."""
    items = []
    # core-agent records each tool call twice: as the model's tool_use block and as the tool_call event
    # with its output. The call is shown once, with its output; the model's block points at it.
    tool_call_numbers = {str(e["id"]): n for n, e in enumerate(events, start=1)
                         if isinstance(e, dict) and e.get("type") == "tool_call" and e.get("id")}
    for number, event in enumerate(events, start=1):
        kind = event.get("type") if isinstance(event, dict) else None
        if kind == "model_call":
            items.append(_model_call(number, event, tool_call_numbers))
        elif kind == "tool_call":
            items.append(_tool_call(number, event))
        elif kind == "image":
            items.append(_image(number, event, image_dir, f"{image_prefix}-{number}", image_href))
        elif kind == "prompt":
            items.append({"kind": "prompt", "number": number, "system": _text(event.get("system")),
                          "user": _text(event.get("user")), "tools": _names(event.get("tools"))})
        elif kind in ("reminder", "note"):
            items.append({"kind": "note", "number": number, "label": _text(event.get("label")) or kind,
                          "text": _text(event.get("text")), "failed": event.get("is_error") is True})
        elif kind == "message":  # what an agent CLI said (agents/cli_agents/normalise.py)
            items.append({"kind": "note", "number": number, "label": _text(event.get("role")) or "message",
                          "text": _text(event.get("text"))})
        elif kind == "command":  # an agent CLI started (agents/cli_agents/session.py): which agent, how it ended
            items.append(_agent_run(number, event))
        elif kind == "output":  # a line an agent CLI printed that was not JSON
            items.append({"kind": "note", "number": number, "label": "output", "text": _text(event.get("text"))})
        elif kind == "end":
            items.append({"kind": "end", "number": number, "outcome": _text(event.get("outcome")) or "graded",
                          "reason": _text(event.get("reason")), "steps": _text(event.get("steps"))})
        else:
            items.append({"kind": "other", "number": number, "label": str(kind) if kind is not None else "event",
                          "json": _json(event)})
    return items


def _model_call(number: int, event: dict[str, Any], tool_call_numbers: dict[str, int]) -> dict[str, Any]:
    blocks = []
    content = event.get("content")
    for block in content if isinstance(content, list) else [content]:
        if isinstance(block, dict) and block.get("type") == "text":
            blocks.append({"kind": "text", "text": str(block.get("text", ""))})
        elif isinstance(block, dict) and block.get("type") == "tool_use" and str(block.get("id")) in tool_call_numbers:
            name = str(block.get("name", ""))
            blocks.append({"kind": "tool_ref", "name": name, "event": tool_call_numbers[str(block.get("id"))],
                           "text": f"calls {name}"})
        elif isinstance(block, dict) and block.get("type") == "tool_use":
            blocks.append({"kind": "tool_use", "name": str(block.get("name", "")), "input": _json(block.get("input"))})
        elif block is not None:
            blocks.append({"kind": "other", "text": _json(block)})
    if event.get("path"):  # a call the metering relay forwarded for an agent CLI
        refused = f", refused: {event['refused']}" if event.get("refused") else ""
        blocks.append({"kind": "text", "text": f"{_text(event.get('method'))} {_text(event.get('path'))} -> "
                                               f"{_text(event.get('status'))} {_text(event.get('model'))}{refused}"})
    usage = event.get("usage") if isinstance(event.get("usage"), dict) else {}
    return {"kind": "model_call", "number": number, "step": _text(event.get("step")), "blocks": blocks,
            "t": _text(event.get("t")), "at": clock(event.get("t")), "seconds": duration(event.get("seconds")),
            "stop_reason": _text(event.get("stop_reason")), "usage": _usage_text(usage)}


def _agent_run(number: int, event: dict[str, Any]) -> dict[str, Any]:
    flags = ["timed out"] if event.get("timed_out") is True else []
    exit_code = event.get("exit_code")
    if isinstance(exit_code, int) and exit_code != 0:
        flags.append("error")
    return {"kind": "agent_run", "number": number, "agent": _text(event.get("agent")),
            "version": _text(event.get("version")), "model": _text(event.get("model")),
            "attempt": _text(event.get("attempt")), "resumed": _text(event.get("resumed_session")),
            "exit_code": _text(exit_code), "seconds": duration(event.get("seconds")), "flags": flags,
            "stderr": _text(event.get("stderr_tail"))}


def _tool_call(number: int, event: dict[str, Any]) -> dict[str, Any]:
    tool_input = event.get("input")
    command = tool_input.get("command") if isinstance(tool_input, dict) and len(tool_input) == 1 else None
    action = event.get("action")
    if isinstance(action, dict) and action.get("kind") == "command":  # an agent CLI's shell command
        command = action.get("command")
    flags = [label for key, label in (("is_error", "error"), ("timed_out", "timed out")) if event.get(key) is True]
    if "accepted" in event:
        flags.append("accepted" if event.get("accepted") is True else "refused")
    return {"kind": "tool_call", "number": number, "step": _text(event.get("step")), "name": _text(event.get("name")),
            "input": str(command) if isinstance(command, str) else _json(tool_input),
            "output": _text(event.get("output")), "exit_code": _text(event.get("exit_code")),
            "seconds": duration(event.get("seconds")), "at": clock(event.get("t")), "path": _text(event.get("path")),
            "flags": flags}


def _image(number: int, event: dict[str, Any], image_dir: Path, stem: str, image_href: str) -> dict[str, Any]:
    item = {"kind": "image", "number": number, "path": _text(event.get("path")),
            "media_type": _text(event.get("media_type")), "src": None, "problem": None}
    media_type = event.get("media_type")
    if media_type not in IMAGE_TYPES:
        item["problem"] = f"not shown: {media_type!s} is not PNG or JPEG"
        return item
    suffix, magic = IMAGE_TYPES[media_type]
    try:
        data = base64.b64decode(str(event.get("bytes_b64", "")), validate=True)
    except (binascii.Error, ValueError):
        item["problem"] = "not shown: the image bytes are not valid base64"
        return item
    if not data.startswith(magic):
        item["problem"] = f"not shown: the bytes are not a {media_type} file"
        return item
    image_dir.mkdir(parents=True, exist_ok=True)
    (image_dir / f"{stem}{suffix}").write_bytes(data)
    item["src"] = f"{image_href}/{stem}{suffix}"
    return item


def _usage_text(usage: dict[str, Any]) -> str:
    """'1,200 in / 80 out / 1,059 cache write / 0 cache read tokens, $0.0123' from a usage dict."""
    parts = [f"{usage[key]:,} {label}" for key, label in (
        ("input_tokens", "in"), ("output_tokens", "out"), ("cache_creation_input_tokens", "cache write"),
        ("cache_read_input_tokens", "cache read")) if isinstance(usage.get(key), int)]
    text = " / ".join(parts) + (" tokens" if parts else "")
    cost = usage.get("cost_usd")
    if isinstance(cost, (int, float)) and not isinstance(cost, bool):
        text += f", ${cost:.4f}"
    return text


def duration(value: Any) -> str:
    """A duration as people read it: '0.018 s', '3.2 s', '2m 05s', '1h 02m'; '' when there is none."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
        return "" if value is None else _text(value)
    if value < 1:
        return f"{value:.2g} s"
    if value < 60:
        return f"{value:.1f} s"
    minutes, secs = divmod(int(round(value)), 60)
    return f"{minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m {secs:02d}s"


def clock(value: Any) -> str:
    """When an event happened, from the task's start: '+0:09', '+12:30', '+1:02:03'; '' when unknown."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
        return ""
    minutes, secs = divmod(int(value), 60)
    return f"+{minutes // 60}:{minutes % 60:02d}:{secs:02d}" if minutes >= 60 else f"+{minutes}:{secs:02d}"


def _names(value: Any) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else _text(value)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, indent=2, default=str)
    except (TypeError, ValueError):
        return repr(value)
