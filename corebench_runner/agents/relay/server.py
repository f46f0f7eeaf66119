"""A metering relay: the only way an agent inside a container reaches the model API.

The agent in the container is given the relay's URL and a random per-task token in place
of an API key. The relay checks the token, swaps in the real key, forwards the request
upstream (the real API, or a local scripted server in tests), passes the answer back
unchanged (streamed server-sent events included), and reads the usage out of it to count
tokens and dollars. It speaks the Anthropic Messages API or the OpenAI one (Responses and
Chat Completions), whichever its upstream is, and

- forwards only the calls agents need (Anthropic: POST messages and messages/count_tokens;
  OpenAI: POST responses and chat/completions, GET models); anything else is answered 403
  and never reaches the upstream with the key;
- pins the model: a request naming another model is rewritten to the run's, so what is
  billed is what the run priced and a cheap side model cannot dodge the table;
- refuses every call once the task's dollar or token cap is spent (a 400, `budget_exceeded`
  set), and, when a dollar cap is set, once a call's cost is unknown;
- remembers upstream failures (5xx, 429, no answer), so an outage is told apart from an
  agent's failure (`upstream_failure`).

The real key never leaves this process.
"""

from __future__ import annotations

import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from corebench_runner.agents.relay.budget import CallBudget
from corebench_runner.agents.relay.forward import forward
from corebench_runner.agents.relay.http import (
    ANTHROPIC,
    LocalServer,
    QuietHandler,
    Request,
    api_of,
    error_body,
    send_json,
)
from corebench_runner.agents.relay.usage import CHAT, MESSAGES, RESPONSES
from corebench_runner.errors import UserError
from corebench_runner.models.pricing import warn_unpriced
from corebench_runner.records import Usage

# (model name, usage of one call without cost) -> dollars, or None when the price is unknown.
CostFunction = Callable[[str, Usage], "float | None"]

# What each upstream protocol forwards: (method, path) -> the protocol its answer is read in.
ROUTES: dict[str, dict[tuple[str, str], str]] = {
    MESSAGES: {("POST", "/v1/messages"): MESSAGES, ("POST", "/v1/messages/count_tokens"): MESSAGES},
    RESPONSES: {("POST", "/v1/responses"): RESPONSES, ("POST", "/v1/chat/completions"): CHAT,
                ("GET", "/v1/models"): RESPONSES},
}
ROUTES[CHAT] = ROUTES[RESPONSES]
MODEL_CALLS = {"/v1/messages", "/v1/responses", "/v1/chat/completions"}  # billed; count for outages
KEY_NAMES = {MESSAGES: ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")}
OPENAI_NAMES = ("OPENAI_API_KEY", "OPENAI_BASE_URL")

# Headers that describe one hop, or that the relay sets itself.
_NOT_FORWARDED = {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "trailer",
                  "upgrade", "proxy-authorization", "proxy-connection", "x-api-key", "authorization",
                  "accept-encoding", "content-encoding"}


def normalised_target(target: str) -> str | None:
    """The request target as it is compared and forwarded, or None when it must be refused.

    The path is percent-decoded before any rule looks at it, and refused when what it decodes to could
    name another place than it seems to: an encoded slash or backslash, a `.` or `..` segment (written
    plainly or encoded), an empty segment (`//`), a `%` left after decoding (double encoding), control
    characters, a fragment, or a target that is not a path. The query, when there is one, is parsed
    and written again, so it can only ever be a query. What is forwarded is built from the decoded
    form: the upstream sees the path the allow-list saw."""
    if not target.startswith("/") or "#" in target or "\\" in target:
        return None
    path, _, query = target.partition("?")
    try:
        decoded = unquote(path, errors="strict") if "%" in path else path
    except UnicodeDecodeError:
        return None
    if any(c in decoded for c in "%\\") or any(ord(c) < 0x20 or ord(c) == 0x7F for c in decoded):
        return None
    segments = decoded.split("/")[1:]
    if any(segment in ("", ".", "..") for segment in segments) or len(path.split("/")) != len(decoded.split("/")):
        return None  # empty, dot segments, or a slash that was encoded
    rebuilt = quote(decoded, safe="/:@-._~")
    if not query:
        return rebuilt
    return rebuilt + "?" + urlencode(parse_qsl(query, keep_blank_values=True))


@dataclass
class RelayCall:
    """One call the agent made, for the task's transcript."""

    method: str
    path: str
    status: int
    model: str = ""
    usage: Usage | None = None
    seconds: float = 0.0
    refused: str = ""
    asked_model: str = ""  # the model the request named, when the relay pinned it to the run's
    upstream_error: str = ""  # "529", "429", "gave no answer (...)" or "cut the stream (...)": the upstream failed
    started: float = field(default_factory=time.monotonic)  # when the agent asked: the transcript's time of the call


@dataclass
class RelayState:
    usage: Usage = field(default_factory=lambda: Usage(cost_usd=0.0))
    calls: list[RelayCall] = field(default_factory=list)


class MeteringRelay(LocalServer):
    """Start with `with MeteringRelay(...) as relay:`; hand `relay.url`/`relay.port` and `relay.token`
    to the agent.

    upstream_url is the API root as its SDK takes it (https://api.anthropic.com,
    https://api.openai.com/v1); agents call the relay with /v1/... paths either way.
    protocol: the upstream's ("anthropic-messages", or "openai-responses"/"openai-chat" for
    OpenAI, which forward both OpenAI routes). model: the run's model, which every request
    is pinned to and priced as (None: keep and price what the answer names).
    The agent sends the token the way its API's SDK sends a key (agents/relay/http.py's api_key_of).
    """

    thread_name = "metering-relay"

    def __init__(self, upstream_url: str, api_key: str, cost: CostFunction | None = None,
                 max_cost_usd: float | None = None, max_tokens: int | None = None,
                 host: str = "127.0.0.1", port: int = 0, upstream_timeout: float = 600.0,
                 ca_file: str | None = None, protocol: str = MESSAGES, model: str | None = None,
                 on_usage: Callable[[Usage], object] | None = None) -> None:
        if protocol not in ROUTES:
            raise ValueError(f"protocol must be one of {', '.join(ROUTES)}, not {protocol!r}")
        key_env, url_env = KEY_NAMES.get(protocol, OPENAI_NAMES)
        parts = urlsplit(upstream_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UserError(f"model base URL {upstream_url!r} is not an http(s) URL; fix {url_env}")
        if not api_key:
            raise UserError(f"no API key for the relay to add; set {key_env}")
        self.upstream = parts
        self.protocol = protocol
        self.api = api_of(protocol)  # the API family whose keys and errors the agent speaks
        self.model = model
        self._upstream_key = api_key
        self.cost = cost
        self.max_cost_usd = max_cost_usd
        self.max_tokens = max_tokens
        self.upstream_timeout = upstream_timeout
        self.tls = ssl.create_default_context(cafile=ca_file) if parts.scheme == "https" else None
        self.on_usage = on_usage  # hears each metered call at once (the engine's meter, hence the usage journal)
        self.token = "cbr-" + secrets.token_urlsafe(24)  # what the container gets instead of a key
        self.key_refusal = ("authentication_error", "unknown task token (the relay reads it from "
                            f"{'x-api-key or ' if self.api == ANTHROPIC else ''}Authorization: Bearer)", None)
        self.state = RelayState()
        self.budget_exceeded = threading.Event()
        self.exceeded_reason = ""  # why, as the first call refused or past the cap said it
        self._lock = threading.Lock()
        self.budget = CallBudget(max_cost_usd, max_tokens, lambda: self.usage)
        super().__init__(self.token, host, port)  # the key its requests must carry (self.api_key) is the token
        self.bind()  # at once: the caller learns here that the address cannot be bound, and the port

    # ------------------------------------------------------------ requests
    def serve(self, handler: QuietHandler, request: Request) -> None:
        """The relay's rules, in order: the token, the route, the budget; then the call is forwarded."""
        call = RelayCall(request.method, request.path, 0)
        if not self.check_key(handler, request):
            return
        target = normalised_target(request.target)
        protocol = self.route(request.method, target.split("?")[0]) if target is not None else None
        if target is None or protocol is None:
            return self.refuse_call(handler, call, 403, "permission_error", f"{request.method} {request.path} is "
                                    f"not forwarded; agents may call {self.allowed()}")
        call.path = target.split("?")[0]
        held = None
        if call.path in MODEL_CALLS and self.budget.capped:  # reserved, so calls in parallel cannot pass the cap
            held, refusal = self.budget.admit(self.budget.worst_case(request.raw, self.price), self.refusal)
        else:
            refusal = self.refusal()
        if refusal:
            self.exceeded_reason = self.exceeded_reason or refusal
            self.budget_exceeded.set()
            return self.refuse_call(handler, call, 400, "invalid_request_error", f"{refusal}; the task is stopped",
                                    refusal)
        try:
            forward(self, handler, request, call, protocol, target)
        finally:
            if held is not None:
                self.budget.settle(held, call.usage)

    def refuse(self, handler: QuietHandler, request: Request, status: int, kind: str, message: str,
               code: str | None = None) -> None:
        self.refuse_call(handler, RelayCall(request.method, request.path, 0), status, kind, message)

    def refuse_call(self, handler: QuietHandler, call: RelayCall, status: int, kind: str, message: str,
                    reason: str = "") -> None:
        """Answer the agent with an error in its API's shape, and keep the call and why (`reason`, else
        the message) in the transcript."""
        call.status, call.refused = status, reason or message
        self.record(call, None)
        send_json(handler, status, error_body(self.api, kind, f"corebench relay: {message}"))

    # ------------------------------------------------------------ metering
    @property
    def usage(self) -> Usage:
        with self._lock:
            u = self.state.usage
            return Usage(u.input_tokens, u.output_tokens, u.cache_creation_input_tokens,
                         u.cache_read_input_tokens, u.cost_usd, u.calls)

    @property
    def calls(self) -> list[RelayCall]:
        with self._lock:
            return list(self.state.calls)

    @property
    def upstream_failure(self) -> str | None:
        """Why the model was unavailable, when the last model call the relay forwarded failed upstream
        (5xx, 429, or no answer): e.g. "upstream answered 529 to 4 of 4 calls". None otherwise, so a
        task whose agent recovered from a passing outage is not blamed on it."""
        forwarded = [c for c in self.calls if c.path in MODEL_CALLS and (c.upstream_error or not c.refused)]
        if not forwarded or not forwarded[-1].upstream_error:
            return None
        failed = [c for c in forwarded if c.upstream_error]
        statuses = list(dict.fromkeys(c.upstream_error for c in failed if c.upstream_error.isdigit()))
        others = list(dict.fromkeys(c.upstream_error for c in failed if not c.upstream_error.isdigit()))
        kinds = ([f"answered {'/'.join(statuses)}"] if statuses else []) + others
        return f"upstream {' and '.join(kinds)} to {len(failed)} of {len(forwarded)} calls"

    def refusal(self) -> str:
        """Why a new call must be refused, or "" while the budget lasts."""
        usage = self.usage
        if self.max_cost_usd is not None and usage.cost_usd is None:
            return (f"the task's budget of ${self.max_cost_usd:g} cannot be enforced: a call's cost is unknown "
                    f"(model {self.model or 'named in the answer'} has no price)")
        if self.max_cost_usd is not None and usage.cost_usd is not None and usage.cost_usd >= self.max_cost_usd:
            return f"the task's budget of ${self.max_cost_usd:g} is spent (${usage.cost_usd:.4f} used)"
        spent_tokens = usage.input_tokens + usage.output_tokens + usage.cache_creation_input_tokens \
            + usage.cache_read_input_tokens
        if self.max_tokens is not None and spent_tokens >= self.max_tokens:
            return f"the task's budget of {self.max_tokens} tokens is spent ({spent_tokens} used)"
        return ""

    def price(self, named_model: str, usage: Usage) -> float | None:
        """What usage costs at the run's model's price (the model the request names when none is pinned)."""
        return self.cost(self.model or named_model, usage) if self.cost else None

    def record(self, call: RelayCall, usage: Usage | None) -> None:
        if usage is not None:
            usage.cost_usd = self.cost(self.model or call.model, usage) if self.cost else None
            if usage.cost_usd is None and self.cost is not None:
                warn_unpriced(self.model or call.model)
            call.usage = usage
        with self._lock:
            self.state.calls.append(call)
            if call.usage is not None:
                self.state.usage.add(call.usage)
        if call.usage is not None and self.on_usage is not None:
            self.on_usage(call.usage)
        reason = self.refusal() if call.usage is not None else ""
        if reason:
            self.exceeded_reason = self.exceeded_reason or reason
            self.budget_exceeded.set()

    # ------------------------------------------------------------ forwarding
    def route(self, method: str, path: str) -> str | None:
        """The protocol to read the answer in, or None when the call is not forwarded. `path` is
        normalised (normalised_target): one model's page is /v1/models/ID, ID a single segment."""
        routes = ROUTES[self.protocol]
        found = routes.get((method, path))
        model_page = path.startswith("/v1/models/") and path.count("/") == 3 and path != "/v1/models/"
        if found is None and method == "GET" and model_page and ("GET", "/v1/models") in routes:
            found = routes[("GET", "/v1/models")]
        return found

    def allowed(self) -> str:
        return ", ".join(f"{m} {p}" for m, p in ROUTES[self.protocol])

    def upstream_path(self, path_and_query: str) -> str:
        base = self.upstream.path.rstrip("/")
        # OpenAI's base URL ends in /v1 already; agents call /v1/... on the relay either way.
        return base + (path_and_query[3:] if base.endswith("/v1") else path_and_query)

    def rewrite(self, protocol: str, body: dict[str, Any], call: RelayCall) -> dict[str, Any]:
        """The request as forwarded: the model pinned, and usage asked of a streamed chat answer."""
        if self.model and "model" in body and body["model"] != self.model:
            call.asked_model = str(body["model"])
            body = {**body, "model": self.model}
        if protocol == CHAT and body.get("stream"):
            body = {**body, "stream_options": {**(body.get("stream_options") or {}), "include_usage": True}}
        return body

    def forward_headers(self, incoming: dict[str, str]) -> dict[str, str]:
        headers = {k: v for k, v in incoming.items() if k.lower() not in _NOT_FORWARDED}
        if self.protocol == MESSAGES:
            headers["x-api-key"] = self._upstream_key
        else:
            headers["authorization"] = f"Bearer {self._upstream_key}"
        headers["accept-encoding"] = "identity"  # so usage can be read from the bytes as they pass
        return headers
