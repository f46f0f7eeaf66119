"""A local OpenAI API server that plays a script: the Responses API and Chat Completions.

The OpenAI counterpart of messages_api.py, for tests and offline replays
(`--model scripted:FILE` with `"protocol": "openai-responses"` or `"openai-chat"`): the real
`openai` SDK, Codex CLI or OpenCode are pointed at it through their base URL. It serves

  POST /v1/responses          (Codex CLI; core-agent on OpenAI models)
  POST /v1/chat/completions   (OpenCode's openai-compatible provider, vLLM-style clients)
  GET  /v1/models             (one model: the script's)

streamed or not. Steps are the same as for the Messages server (a reply's blocks: `text`,
`tool_use` {name, input}, `custom_tool_use` {name, input text}; or an `error`). Usage a step
does not give is computed like OpenAI's automatic prompt caching: the longest prefix of the
prompt (tools, instructions, then input items, at item boundaries) that an earlier request
already sent is billed as cached input; no minimum length, no expiry.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from corebench_runner.agents.relay.http import OPENAI, QuietHandler, Request, error_body, send_events, send_json
from corebench_scripted.messages_api import ScriptedServer, ScriptError, estimate_tokens
from corebench_scripted.openai_wire import (
    chat_chunks,
    chat_completion,
    encode_data,
    response_events,
    response_items,
    response_object,
    usage_fields,
)

RESPONSES, CHAT = "/v1/responses", "/v1/chat/completions"


class AutomaticCache:
    """Prompt prefixes already sent, so a request repeating one is billed for it as cached input."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def usage(self, parts: list[Any]) -> tuple[int, int]:
        """(input tokens, of which cached) for a prompt made of `parts`, in order."""
        digest, tokens, prefixes = hashlib.sha256(), 0, []
        for part in parts:
            digest.update(json.dumps(part, sort_keys=True).encode())
            tokens += estimate_tokens(part)
            prefixes.append((digest.copy().hexdigest(), tokens))
        with self._lock:
            # The whole prompt is never its own hit: the last part is the new turn.
            cached = max((n for h, n in prefixes[:-1] if h in self._seen), default=0)
            self._seen.update(h for h, _ in prefixes)
        return tokens, cached


def prompt_parts(path: str, body: dict[str, Any]) -> list[Any]:
    """The prompt in the order a cache sees it."""
    if path == RESPONSES:
        given = body.get("input")
        items = [{"role": "user", "content": given}] if isinstance(given, str) else list(given or [])
        return list(body.get("tools") or []) + ([body["instructions"]] if body.get("instructions") else []) + items
    return list(body.get("tools") or []) + list(body.get("messages") or [])


def check_responses(body: dict[str, Any]) -> None:
    """Reject what the Responses API rejects with a 400."""
    for key in ("model", "input"):
        if key not in body:
            raise ScriptError(400, "invalid_request_error", f"Missing required parameter: '{key}'.")
    items = body["input"] if isinstance(body["input"], list) else []
    calls = {i.get("call_id") for i in items if isinstance(i, dict) and i.get("type") in
             ("function_call", "custom_tool_call", "local_shell_call")}
    for item in items:
        if isinstance(item, dict) and item.get("type") in ("function_call_output", "custom_tool_call_output") \
                and item.get("call_id") not in calls and not body.get("previous_response_id"):
            raise ScriptError(400, "invalid_request_error",
                              f"No tool call found for function call output with call_id {item.get('call_id')}.")


def check_chat(body: dict[str, Any]) -> None:
    """Reject what Chat Completions rejects with a 400."""
    for key in ("model", "messages"):
        if key not in body:
            raise ScriptError(400, "invalid_request_error", f"Missing required parameter: '{key}'.")
    messages = body["messages"]
    for n, message in enumerate(messages):
        wanted = [c.get("id") for c in message.get("tool_calls") or []] if message.get("role") == "assistant" else []
        answered = set()
        for later in messages[n + 1:]:
            if later.get("role") != "tool":
                break
            answered.add(later.get("tool_call_id"))
        if any(w not in answered for w in wanted):
            raise ScriptError(400, "invalid_request_error",
                              "An assistant message with 'tool_calls' must be followed by tool messages responding "
                              f"to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
                              f"{', '.join(w for w in wanted if w not in answered)}")
        if message.get("role") == "tool" and (n == 0 or messages[n - 1].get("role") not in ("assistant", "tool")):
            raise ScriptError(400, "invalid_request_error", "Messages with role 'tool' must be a response to a "
                              "preceeding message with 'tool_calls'.")


def is_new_conversation(path: str, body: dict[str, Any]) -> bool:
    """No assistant turn or tool output yet: the first call of a task."""
    if path == RESPONSES:
        given = body.get("input")
        items = given if isinstance(given, list) else []
        return not any(isinstance(i, dict) and (i.get("role") == "assistant" or i.get("type", "message") != "message")
                       for i in items)
    return not any(m.get("role") in ("assistant", "tool") for m in body.get("messages") or [])


class OpenAIServer(ScriptedServer):
    """Serve a script on 127.0.0.1 (ephemeral port) in both OpenAI protocols; use as a context manager.

    Options as MessagesServer's: api_key (a bearer token the requests must carry, else 401),
    restart_per_conversation (a request with no assistant turn starts the script again),
    side_replies (a request offering no tools gets a short text and uses no step).
    `model` is what GET /v1/models lists.
    """

    api = OPENAI
    thread_name = "openai-server"
    key_refusal = ("invalid_request_error", "Incorrect API key provided.", "invalid_api_key")

    def __init__(self, script: list[dict[str, Any]] | None = None, *, api_key: str | None = None,
                 restart_per_conversation: bool = False, side_replies: bool = False, model: str = "scripted") -> None:
        super().__init__(script, api_key, restart_per_conversation, side_replies)
        self.model = model
        self.cache = AutomaticCache()

    @property
    def base_url(self) -> str:
        """What OpenAI clients take as their base URL: the server's root and /v1."""
        return self.url + "/v1"

    def serve(self, handler: QuietHandler, request: Request) -> None:
        record, body = self.record(request)
        if not self.check_key(handler, request):
            return
        path = request.path
        if request.method == "GET" and path == "/v1/models":
            return send_json(handler, 200, {"object": "list", "data": [
                {"id": self.model, "object": "model", "created": 0, "owned_by": "corebench-scripted"}]})
        if request.method != "POST" or path not in (RESPONSES, CHAT):
            return self.refuse(handler, request, 404, "invalid_request_error", f"Invalid URL ({request.method} {path})")
        if body is None:
            return self.refuse(handler, request, 400, "invalid_request_error",
                               "We could not parse the JSON body of your request.")
        if self.is_side_call(body):
            self.side_requests.append(record)
        status, extra, payload = self.answer(path, request.headers, body)
        if status != 200 or not body.get("stream"):
            return send_json(handler, status, payload, extra)
        if path == RESPONSES:
            return send_events(handler, (encode_data(data, name) for name, data in response_events(payload)))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        chunks = [encode_data(chunk) for chunk in chat_chunks(payload, include_usage)]
        send_events(handler, [*chunks, encode_data("[DONE]")])

    def answer(self, path: str, headers: dict[str, str], body: dict[str, Any]
               ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """(status, extra headers, JSON body): a complete answer of the API at `path`; the key was accepted."""
        try:
            (check_responses if path == RESPONSES else check_chat)(body)
            if self.is_side_call(body):
                step: dict[str, Any] = {"content": [{"type": "text", "text": "Task"}]}
            else:
                step = self.steps.take(is_new_conversation(path, body))
        except ScriptError as exc:
            return exc.status, {}, error_body(OPENAI, exc.type, exc.message)
        if step.get("delay"):  # a slow model, as the Messages server plays it
            self.stopping.wait(float(step["delay"]))
        if "error" in step:
            err = step["error"]
            extra = {"retry-after": str(err["retry_after"])} if "retry_after" in err else {}
            return err.get("status", 500), extra, error_body(OPENAI, err.get("type", "server_error"),
                                                             err.get("message", "scripted error"))
        content = step["content"]
        incomplete = step.get("stop_reason") in ("max_tokens", "length", "max_output_tokens")
        if step.get("usage"):
            given = step["usage"]
            cached = int(given.get("cached_tokens", given.get("cache_read_input_tokens", 0)))
            usage = usage_fields(int(given.get("input_tokens", 0)), cached, int(given.get("output_tokens", 0)))
        else:
            total, cached = self.cache.usage(prompt_parts(path, body))
            usage = usage_fields(total, cached, estimate_tokens(content))
        body = {**body, "model": step.get("model") or body["model"]}  # the model the answer names
        if path == RESPONSES:
            return 200, {}, response_object(body, response_items(content), usage, incomplete)
        return 200, {}, chat_completion(body, content, usage, incomplete)
