"""The tools of the core-agent scaffold: they act in the sandbox, never on the host.

Each tool takes the model's input dict and returns a ToolResult: the content for the
tool_result block (text, or text plus an image) and a transcript event describing what
happened. Mistakes the agent makes (bad path, wrong keys) come back as is_error results it
can read and correct; only a failing sandbox raises.
"""

from __future__ import annotations

import base64
import json
import posixpath
import time
from dataclasses import dataclass, field
from typing import Any

from corebench_runner.records import TaskSpec
from corebench_runner.sandbox.base import Sandbox

OUTPUT_HEAD_CHARS = 10_000
OUTPUT_TAIL_CHARS = 10_000
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # the Messages API's limit per image
MAX_TEXT_BYTES = 10 * 1024 * 1024  # view_file / edit_file; bigger files are read with bash
DEFAULT_COMMAND_SECONDS = 900.0
IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF87a": "image/gif",
               b"GIF89a": "image/gif"}

_path = {"type": "string", "description": "A path inside the sandbox; relative paths start at the workspace."}
TOOL_SPECS: list[dict[str, Any]] = [
    {"name": "bash", "description": "Run a bash command in the workspace and get its exit code, stdout and "
     "stderr. Long output is cut in the middle. Each call starts a fresh shell: chain commands with && and "
     "use absolute paths or cd in the same command.",
     "input_schema": {"type": "object", "properties": {
         "command": {"type": "string", "description": "The command line to run."},
         "timeout": {"type": "number", "description": "Seconds before the command is killed (default 900)."}},
         "required": ["command"]}},
    {"name": "view_file", "description": "Show a text file with line numbers (optionally a range of lines), "
     "or list a folder.",
     "input_schema": {"type": "object", "properties": {
         "path": _path, "start_line": {"type": "integer"}, "end_line": {"type": "integer"}}, "required": ["path"]}},
    {"name": "create_file", "description": "Create or overwrite a text file with the given content.",
     "input_schema": {"type": "object", "properties": {"path": _path, "content": {"type": "string"}},
                      "required": ["path", "content"]}},
    {"name": "edit_file", "description": "Replace one exact, unique occurrence of old_text in a file with new_text.",
     "input_schema": {"type": "object", "properties": {
         "path": _path, "old_text": {"type": "string"}, "new_text": {"type": "string"}},
         "required": ["path", "old_text", "new_text"]}},
    {"name": "view_image", "description": "Look at a PNG, JPEG or GIF image file (e.g. a figure the code made).",
     "input_schema": {"type": "object", "properties": {"path": _path}, "required": ["path"]}},
    {"name": "submit", "description": "Submit the final answers: an object whose keys are exactly the questions "
     "asked and whose values are the answers. It also writes report.json. The task ends when it is accepted.",
     "input_schema": {"type": "object", "properties": {"answers": {"type": "object"}}, "required": ["answers"]}},
]


@dataclass
class ToolResult:
    content: str | list[dict[str, Any]]
    is_error: bool = False
    event: dict[str, Any] = field(default_factory=dict)  # extra transcript fields
    accepted_answers: dict[str, Any] | None = None  # set by an accepted submit


def cut_middle(text: str, head: int = OUTPUT_HEAD_CHARS, tail: int = OUTPUT_TAIL_CHARS) -> str:
    """Keep the head and tail of long output, with a note saying how much was left out."""
    if len(text) <= head + tail:
        return text
    omitted = len(text) - head - tail
    return f"{text[:head]}\n[... {omitted} characters omitted; redirect to a file and grep it to see them ...]\n" \
           f"{text[-tail:]}"


def image_type(data: bytes) -> str | None:
    for magic, media_type in IMAGE_TYPES.items():
        if data.startswith(magic):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


class Toolbox:
    """Runs the agent's tool calls against one sandbox for one task."""

    def __init__(self, sandbox: Sandbox, task: TaskSpec) -> None:
        self.sandbox = sandbox
        self.task = task

    def resolve(self, path: str) -> str:
        return posixpath.normpath(posixpath.join(self.task.workspace_dir, path))

    def run(self, name: str, tool_input: dict[str, Any], seconds_left: float | None = None) -> ToolResult:
        handler = getattr(self, f"_tool_{name}", None) if name in {t["name"] for t in TOOL_SPECS} else None
        if handler is None:
            return ToolResult(f"unknown tool {name!r}; the tools are: {', '.join(t['name'] for t in TOOL_SPECS)}",
                              is_error=True)
        if not isinstance(tool_input, dict) or "_unparsed_arguments" in tool_input:
            return ToolResult("the tool input was not a valid JSON object; send it again", is_error=True)
        try:
            return handler(tool_input, seconds_left) if name == "bash" else handler(tool_input)
        except (KeyError, TypeError, ValueError) as exc:
            return ToolResult(f"bad input for {name}: {exc!r}; see the tool's input schema", is_error=True)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
            return ToolResult(f"{name} failed: {exc}", is_error=True)

    def _exists(self, path: str, test: str = "-e") -> bool:
        return self.sandbox.exec(["test", test, path]).exit_code == 0

    def _read_small_file(self, path: str, limit: int, hint: str = "look at parts of it with bash (head, sed -n, grep)"
                         ) -> bytes | ToolResult:
        """The file's bytes, or an error result when it is missing or too big to hand to the model."""
        stat = self.sandbox.exec(["stat", "-L", "-c", "%F %s", path])  # e.g. "regular file 1234"
        kind, _, size = stat.stdout.strip().rpartition(" ")
        if stat.exit_code != 0 or kind not in ("regular file", "regular empty file"):
            return ToolResult(f"{path}: no such file", is_error=True, event={"path": path})
        if int(size) > limit:
            return ToolResult(f"{path} is {int(size) / 2**20:.1f} MB, over the {limit / 2**20:g} MB this tool "
                              f"reads; {hint}", is_error=True, event={"path": path})
        return self.sandbox.read_file(path)

    def _tool_bash(self, tool_input: dict[str, Any], seconds_left: float | None) -> ToolResult:
        command = tool_input["command"]
        if not isinstance(command, str) or not command.strip():
            return ToolResult("command must be a non-empty string", is_error=True)
        timeout = float(tool_input.get("timeout") or DEFAULT_COMMAND_SECONDS)
        if seconds_left is not None:
            timeout = max(1.0, min(timeout, seconds_left))
        started = time.monotonic()
        result = self.sandbox.exec(command, timeout=timeout, workdir=self.task.workspace_dir)
        parts = [f"exit code: {result.exit_code}"]
        if result.timed_out:
            parts.append(f"[the command was killed after {timeout:.0f} seconds]")
        if result.truncated:
            parts.append("[the sandbox dropped part of the output: it was too long]")
        if result.stdout:
            parts.append(f"stdout:\n{cut_middle(result.stdout)}")
        if result.stderr:
            parts.append(f"stderr:\n{cut_middle(result.stderr)}")
        output = "\n".join(parts)
        return ToolResult(output, is_error=False, event={
            "exit_code": result.exit_code, "timed_out": result.timed_out,
            "seconds": round(result.seconds or time.monotonic() - started, 3)})

    def _tool_view_file(self, tool_input: dict[str, Any]) -> ToolResult:
        path = self.resolve(tool_input["path"])
        if self._exists(path, "-d"):
            listing = self.sandbox.exec(["ls", "-la", path])
            return ToolResult(cut_middle(listing.stdout), event={"path": path})
        data = self._read_small_file(path, MAX_TEXT_BYTES)
        if isinstance(data, ToolResult):
            return data
        if image_type(data):
            return ToolResult(f"{path} is an image; use view_image to look at it", is_error=True, event={"path": path})
        if b"\0" in data[:8192]:
            return ToolResult(f"{path} is a binary file ({len(data)} bytes); inspect it with bash",
                              is_error=True, event={"path": path})
        lines = data.decode("utf-8", errors="replace").splitlines()
        start = max(1, int(tool_input.get("start_line") or 1))
        end = min(len(lines), int(tool_input.get("end_line") or len(lines)))
        numbered = "\n".join(f"{n:6}\t{lines[n - 1]}" for n in range(start, end + 1))
        if not numbered:
            numbered = "(empty file)" if not lines else f"(no lines in that range; the file has {len(lines)} lines)"
        return ToolResult(cut_middle(numbered), event={"path": path})

    def _tool_create_file(self, tool_input: dict[str, Any]) -> ToolResult:
        path, content = self.resolve(tool_input["path"]), tool_input["content"]
        if not isinstance(content, str):
            return ToolResult("content must be a string", is_error=True)
        self.sandbox.write_file(path, content)
        return ToolResult(f"wrote {len(content.encode())} bytes to {path}", event={"path": path})

    def _tool_edit_file(self, tool_input: dict[str, Any]) -> ToolResult:
        path = self.resolve(tool_input["path"])
        old, new = tool_input["old_text"], tool_input["new_text"]
        data = self._read_small_file(path, MAX_TEXT_BYTES)
        if isinstance(data, ToolResult):
            return data
        text = data.decode("utf-8", errors="replace")
        count = text.count(old) if old else 0
        if count != 1:
            why = "old_text is empty" if not old else f"old_text occurs {count} times; it must occur exactly once"
            return ToolResult(f"{path}: not edited: {why}", is_error=True, event={"path": path})
        self.sandbox.write_file(path, text.replace(old, new, 1))
        return ToolResult(f"edited {path}", event={"path": path})

    def _tool_view_image(self, tool_input: dict[str, Any]) -> ToolResult:
        path = self.resolve(tool_input["path"])
        data = self._read_small_file(path, MAX_IMAGE_BYTES, "save a smaller copy (e.g. lower dpi) and view that")
        if isinstance(data, ToolResult):
            return data
        media_type = image_type(data)
        if media_type is None:
            return ToolResult(f"{path} is not a PNG, JPEG, GIF or WebP image", is_error=True, event={"path": path})
        encoded = base64.b64encode(data).decode()
        content = [{"type": "text", "text": f"{path} ({media_type}, {len(data)} bytes):"},
                   {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": encoded}}]
        return ToolResult(content, event={"path": path, "media_type": media_type, "bytes_b64": encoded})

    def _tool_submit(self, tool_input: dict[str, Any]) -> ToolResult:
        answers = tool_input["answers"]
        if not isinstance(answers, dict):
            return ToolResult("answers must be an object mapping each question to its answer", is_error=True)
        missing = [q for q in self.task.questions if q not in answers]
        unknown = [k for k in answers if k not in self.task.questions]
        if missing or unknown:
            lines = ["not accepted: the keys must be exactly the questions asked, copied verbatim."]
            lines += [f"missing: {json.dumps(q)}" for q in missing]
            lines += [f"unknown: {json.dumps(k)}" for k in unknown]
            return ToolResult("\n".join(lines), is_error=True,
                              event={"accepted": False, "missing": missing, "unknown": unknown})
        self.sandbox.write_file(self.task.report_path, json.dumps(answers, indent=2))
        return ToolResult(f"accepted; wrote {self.task.report_path}", event={"accepted": True},
                          accepted_answers=answers)
