"""A local Messages API server that plays a script: for tests and offline demos.

It speaks the HTTP wire protocol of POST /v1/messages: tool_use and tool_result blocks,
usage with cache fields, error responses with real status codes and retry-after headers,
and, for a request with "stream": true, the API's server-sent event sequence (agent CLIs
such as Claude Code only stream). The real `anthropic` SDK is pointed at it via base_url.

A script is a list of steps, played one per request:
  {"content": [blocks], "stop_reason": "tool_use", "usage": {...}}   a reply (usage optional)
  {"error": {"status": 529, "type": "overloaded_error", "message": "...", "retry_after": 1}}
A step with "delay": SECONDS is answered that much later (a hung or slow model).
tool_use blocks without an "id" get one. Without scripted usage the server computes it
(about len(json)/4 tokens), including prompt caching: a request prefix that ends at a
cache_control breakpoint is written to the cache; a later request sharing a cached prefix
is billed for it as cache read. Every request (body, headers) is recorded in `requests`.

With side_replies, a request that offers no tools (an agent CLI's side calls, such as a
title for the session) is answered with a short text without using up a step, so a script
lists only the agent's real turns; such requests are also kept in `side_requests`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corebench_runner.agents.relay.http import (
    ANTHROPIC,
    LocalServer,
    QuietHandler,
    Request,
    error_body,
    send_events,
    send_json,
)
from corebench_runner.errors import UserError
from corebench_scripted.sse import encode_event, reply_events

MAX_BREAKPOINTS = 4  # what the real API allows


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class ScriptError(Exception):
    status: int
    type: str
    message: str


# The wire protocols a script can be played in; the first is the default.
PROTOCOLS = ("anthropic-messages", "openai-responses", "openai-chat")


@dataclass
class Script:
    """A script file: its steps, the model name that is priced, whether side calls use no step,
    and the wire protocol the server plays it in."""

    steps: list[dict[str, Any]]
    model: str = "scripted"
    side_replies: bool = False
    protocol: str = PROTOCOLS[0]


def load_script(path: Path) -> Script:
    """Read a script file: a JSON list of steps, or
    {"model": NAME, "side_replies": BOOL, "protocol": PROTOCOL, "steps": [...]}."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"--model scripted:{path}: no such file; give the path of a JSON script") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); fix the script") from None
    if isinstance(data, list):
        data = {"steps": data}
    steps = data.get("steps") if isinstance(data, dict) else None
    if not isinstance(steps, list) or not all(isinstance(s, dict) and ("content" in s or "error" in s) for s in steps):
        raise UserError(f"{path}: a script is a list of steps, each with \"content\" or \"error\" "
                        "(see docs/models.md)")
    if not isinstance(data.get("side_replies", False), bool):
        raise UserError(f"{path}: \"side_replies\" is true or false")
    protocol = data.get("protocol", PROTOCOLS[0])
    if protocol not in PROTOCOLS:
        raise UserError(f"{path}: \"protocol\" is one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    return Script(steps, str(data.get("model", "scripted")), data.get("side_replies", False), protocol)


def estimate_tokens(value: Any) -> int:
    return max(1, len(json.dumps(value, sort_keys=True)) // 4) if value else 0


def _prompt_blocks(body: dict[str, Any]) -> list[tuple[dict[str, Any], bool]]:
    """The prompt in cache order (tools, system, messages) as (block without cache_control, is_breakpoint)."""
    blocks: list[tuple[dict[str, Any], bool]] = []

    def add(block: Any, role: str = "") -> None:
        if isinstance(block, str):
            block = {"type": "text", "text": block}
        marked = isinstance(block, dict) and "cache_control" in block
        clean = {k: v for k, v in block.items() if k != "cache_control"}
        blocks.append(({"role": role, **clean} if role else clean, marked))

    for tool in body.get("tools") or []:
        add(tool)
    system = body.get("system")
    for block in ([system] if isinstance(system, str) else system or []):
        add(block)
    for message in body.get("messages") or []:
        content = message.get("content")
        for block in ([content] if isinstance(content, str) else content or []):
            add(block, message.get("role", ""))
    return blocks


class PromptCache:
    """Which prompt prefixes have been written; computes cache-aware usage like the real API."""

    def __init__(self) -> None:
        self._written: set[str] = set()
        self._lock = threading.Lock()

    def usage(self, body: dict[str, Any]) -> dict[str, int]:
        blocks = _prompt_blocks(body)
        digest, tokens = hashlib.sha256(), 0
        prefixes: list[tuple[str, int, bool]] = []  # (hash, tokens so far, ends at a breakpoint)
        for block, marked in blocks:
            digest.update(json.dumps(block, sort_keys=True).encode())
            tokens += estimate_tokens(block)
            prefixes.append((digest.copy().hexdigest(), tokens, marked))
        total = tokens
        last_mark = max((i for i, p in enumerate(prefixes) if p[2]), default=-1)
        if last_mark < 0:
            return {"input_tokens": total, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        with self._lock:
            # Like the API: a hit may be found at any block boundary up to the last breakpoint.
            read = max((p[1] for p in prefixes[:last_mark + 1] if p[0] in self._written), default=0)
            write = prefixes[last_mark][1] - read
            self._written.update(p[0] for p in prefixes if p[2])
        return {"input_tokens": total - read - write, "cache_creation_input_tokens": write,
                "cache_read_input_tokens": read}


def check_request(body: dict[str, Any]) -> None:
    """Reject what the real API rejects with a 400, so a client bug shows up in tests."""
    for key in ("model", "max_tokens", "messages"):
        if key not in body:
            raise ScriptError(400, "invalid_request_error", f"{key}: Field required")
    messages = body["messages"]
    if not messages or messages[0].get("role") != "user":
        raise ScriptError(400, "invalid_request_error", "messages: the first message must use the user role")
    marks = sum(1 for _, marked in _prompt_blocks(body) if marked)
    if marks > MAX_BREAKPOINTS:
        raise ScriptError(400, "invalid_request_error",
                          f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {marks}.")
    for n, message in enumerate(messages):
        content = message.get("content")
        uses = [b["id"] for b in content if b.get("type") == "tool_use"] if isinstance(content, list) else []
        if not uses:
            continue
        following = messages[n + 1]["content"] if n + 1 < len(messages) else []
        results = {b.get("tool_use_id") for b in following if isinstance(b, dict) and b.get("type") == "tool_result"} \
            if isinstance(following, list) else set()
        missing = [u for u in uses if u not in results]
        if missing:
            raise ScriptError(400, "invalid_request_error",
                              f"messages.{n + 1}: tool_use ids were found without tool_result blocks "
                              f"immediately after: {', '.join(missing)}")


class ScriptSteps:
    """The steps of a script, played one per request; shared by the Messages and OpenAI servers."""

    def __init__(self, steps: list[dict[str, Any]] | None, restart_per_conversation: bool) -> None:
        self.steps: list[dict[str, Any]] = list(steps or [])
        self.restart_per_conversation = restart_per_conversation
        self._next = 0
        self._lock = threading.Lock()

    @property
    def left(self) -> int:
        return len(self.steps) - self._next

    def add(self, *steps: dict[str, Any]) -> None:
        with self._lock:
            self.steps.extend(steps)

    def take(self, new_conversation: bool) -> dict[str, Any]:
        """The next step; ScriptError(400) once the script is exhausted."""
        with self._lock:
            if self.restart_per_conversation and new_conversation:
                self._next = 0
            if self._next >= len(self.steps):
                raise ScriptError(400, "invalid_request_error",
                                  f"the script is exhausted after {len(self.steps)} steps; add more steps")
            step = self.steps[self._next]
            self._next += 1
            return step


class ScriptedServer(LocalServer):
    """What the Messages and OpenAI servers share: the script's steps, side replies, and every request
    they received (`requests`; those answered as side calls also in `side_requests`)."""

    def __init__(self, script: list[dict[str, Any]] | None, api_key: str | None, restart_per_conversation: bool,
                 side_replies: bool) -> None:
        super().__init__(api_key)
        self.steps = ScriptSteps(script, restart_per_conversation)
        self.requests: list[RecordedRequest] = []
        self.side_requests: list[RecordedRequest] = []
        self.side_replies = side_replies

    @property
    def script(self) -> list[dict[str, Any]]:
        return self.steps.steps

    def is_side_call(self, body: dict[str, Any]) -> bool:
        """A request answered without a step: side replies are on and it offers no tools."""
        return self.side_replies and not body.get("tools")

    @property
    def main_requests(self) -> list[RecordedRequest]:
        """The requests that played (or asked for) a script step."""
        return [r for r in self.requests if not any(r is side for side in self.side_requests)]

    @property
    def steps_left(self) -> int:
        return self.steps.left

    def add(self, *steps: dict[str, Any]) -> None:
        """Append steps to the script."""
        self.steps.add(*steps)

    def record(self, request: Request) -> tuple[RecordedRequest, dict[str, Any] | None]:
        """Keep the request, refused ones too (a test asks what the client sent); its body is None
        when it is not a JSON object."""
        try:
            body: dict[str, Any] | None = request.json_object()
        except ValueError:
            body = None
        recorded = RecordedRequest(request.target, request.headers, body or {})
        self.requests.append(recorded)
        return recorded, body


class MessagesServer(ScriptedServer):
    """Serve a script on 127.0.0.1 (ephemeral port) in a background thread; use as a context manager.

    restart_per_conversation: start the script again whenever a request holds a single message
    (a new conversation), so one script serves several tasks run one after another.
    api_key: when set, requests must carry it in x-api-key, else 401 as the API answers.
    side_replies: answer requests that offer no tools with a short text, without using up a step.
    """

    api = ANTHROPIC
    thread_name = "messages-server"

    def __init__(self, script: list[dict[str, Any]] | None = None, *, api_key: str | None = None,
                 restart_per_conversation: bool = False, side_replies: bool = False) -> None:
        super().__init__(script, api_key, restart_per_conversation, side_replies)
        self.cache = PromptCache()

    def serve(self, handler: QuietHandler, request: Request) -> None:
        record, body = self.record(request)
        if not self.check_key(handler, request):
            return
        if request.method != "POST" or request.path not in ("/v1/messages", "/v1/messages/count_tokens"):
            return self.refuse(handler, request, 404, "not_found_error", f"no route {request.target}")
        if body is None:
            return self.refuse(handler, request, 400, "invalid_request_error", "body is not valid JSON")
        if request.path == "/v1/messages/count_tokens":
            return send_json(handler, 200, {"input_tokens": estimate_tokens(body.get("messages"))})
        if self.is_side_call(body):
            self.side_requests.append(record)
        status, extra, payload = self.answer(request.headers, body)
        if status == 200 and body.get("stream"):
            return send_events(handler, (encode_event(name, data) for name, data in reply_events(payload)))
        send_json(handler, status, payload, extra)

    def answer(self, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        """(status, extra headers, JSON body) for one request to /v1/messages whose key was accepted."""
        try:
            check_request(body)
        except ScriptError as exc:
            return _error(exc.status, exc.type, exc.message)
        if self.is_side_call(body):
            return 200, {}, _reply(body, [{"type": "text", "text": "Task"}], None,
                                   {"input_tokens": estimate_tokens(body["messages"]), "output_tokens": 1})
        try:
            step = self.steps.take(new_conversation=len(body["messages"]) == 1)
        except ScriptError as exc:
            return _error(exc.status, exc.type, exc.message)
        if step.get("delay"):
            self.stopping.wait(float(step["delay"]))
        if "error" in step:
            err = step["error"]
            extra = {"retry-after": str(err["retry_after"])} if "retry_after" in err else {}
            return _error(err.get("status", 500), err.get("type", "api_error"), err.get("message", "scripted error"),
                          extra)
        content = [dict(b, id=b.get("id") or f"toolu_{uuid.uuid4().hex[:20]}") if b.get("type") == "tool_use"
                   else b for b in step["content"]]
        usage = step.get("usage") or {**self.cache.usage(body), "output_tokens": estimate_tokens(content)}
        # A step may name the model the answer reports (the API answers with a dated name, say).
        return 200, {}, _reply({**body, "model": step.get("model") or body["model"]}, content,
                               step.get("stop_reason"), usage)


def _reply(body: dict[str, Any], content: list[dict[str, Any]], stop_reason: str | None,
           usage: dict[str, int]) -> dict[str, Any]:
    """A complete Messages response."""
    return {"id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant",
            "model": body["model"], "content": content,
            "stop_reason": stop_reason or ("tool_use" if any(b.get("type") == "tool_use" for b in content)
                                           else "end_turn"),
            "stop_sequence": None,
            "usage": {"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, **usage}}


def _error(status: int, kind: str, message: str, extra: dict[str, str] | None = None
           ) -> tuple[int, dict[str, str], dict[str, Any]]:
    return status, extra or {}, error_body(ANTHROPIC, kind, message)
