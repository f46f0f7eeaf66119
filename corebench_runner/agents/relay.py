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

import gzip
import hmac
import http.client
import json
import secrets
import ssl
import threading
import time
import urllib.request
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

from corebench_runner.agents.relay_usage import CHAT, MESSAGES, RESPONSES, StreamUsageReader, usage_of_body
from corebench_runner.errors import UserError
from corebench_runner.models.pricing import warn_unpriced
from corebench_runner.records import Usage
from corebench_runner.servers.local_http import (BackgroundServer, QuietHandler, end_chunked, offered_key, send_json,
                                                 start_chunked, write_chunk)

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
_NOT_RETURNED = {"content-length", "connection", "keep-alive", "transfer-encoding", "content-encoding"}


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


@dataclass
class RelayState:
    usage: Usage = field(default_factory=lambda: Usage(cost_usd=0.0))
    calls: list[RelayCall] = field(default_factory=list)


class MeteringRelay:
    """Start with `with MeteringRelay(...) as relay:`; hand `relay.url`/`relay.port` and `relay.token`
    to the agent.

    upstream_url is the API root as its SDK takes it (https://api.anthropic.com,
    https://api.openai.com/v1); agents call the relay with /v1/... paths either way.
    protocol: the upstream's ("anthropic-messages", or "openai-responses"/"openai-chat" for
    OpenAI, which forward both OpenAI routes). model: the run's model, which every request
    is pinned to and priced as (None: keep and price what the answer names).
    """

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
        self.model = model
        self._api_key = api_key
        self.cost = cost
        self.max_cost_usd = max_cost_usd
        self.max_tokens = max_tokens
        self.upstream_timeout = upstream_timeout
        self._tls = ssl.create_default_context(cafile=ca_file) if parts.scheme == "https" else None
        self.on_usage = on_usage  # hears each metered call at once (the engine's meter, hence the usage journal)
        self.token = "cbr-" + secrets.token_urlsafe(24)  # what the container gets instead of a key
        self.state = RelayState()
        self.budget_exceeded = threading.Event()
        self._lock = threading.Lock()
        self._http = BackgroundServer(_handler_for(self), host, port, name="metering-relay")

    # ------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        return self._http.port

    @property
    def host(self) -> str:
        return self._http.host

    @property
    def url(self) -> str:
        return self._http.url

    def start(self) -> "MeteringRelay":
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> "MeteringRelay":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

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

    def token_matches(self, offered: str) -> bool:
        return bool(offered) and hmac.compare_digest(offered.encode(), self.token.encode())

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
        if call.usage is not None and self.refusal():
            self.budget_exceeded.set()

    # ------------------------------------------------------------ forwarding
    def route(self, method: str, path: str) -> str | None:
        """The protocol to read the answer in, or None when the call is not forwarded."""
        routes = ROUTES[self.protocol]
        found = routes.get((method, path))
        if found is None and method == "GET" and path.startswith("/v1/models/") and ("GET", "/v1/models") in routes:
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
            headers["x-api-key"] = self._api_key
        else:
            headers["authorization"] = f"Bearer {self._api_key}"
        headers["accept-encoding"] = "identity"  # so usage can be read from the bytes as they pass
        return headers

    def open_upstream(self) -> http.client.HTTPConnection:
        host, port = self.upstream.hostname or "", self.upstream.port
        if self.upstream.scheme == "http":
            return http.client.HTTPConnection(host, port, timeout=self.upstream_timeout)
        proxy = urllib.request.getproxies().get("https")
        if proxy and not urllib.request.proxy_bypass(host):  # honour $HTTPS_PROXY / $NO_PROXY like the SDK
            via = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
            connection = http.client.HTTPSConnection(via.hostname or "", via.port or 8080,
                                                     timeout=self.upstream_timeout, context=self._tls)
            connection.set_tunnel(host, port or 443)
            return connection
        return http.client.HTTPSConnection(host, port, timeout=self.upstream_timeout, context=self._tls)


def _read_request_body(handler: QuietHandler) -> bytes:
    """The request body, de-chunked and un-gzipped; ValueError for an encoding the relay cannot read."""
    if "chunked" in (handler.headers.get("transfer-encoding") or "").lower():
        body = b""
        while (size := int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)) > 0:
            body += handler.rfile.read(size)
            handler.rfile.readline()
        while handler.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
            pass
    else:
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else b""
    encoding = (handler.headers.get("content-encoding") or "identity").lower()
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding != "identity":
        raise ValueError(f"content-encoding {encoding} is not supported by the relay; send the body uncompressed")
    return body


def _handler_for(relay: MeteringRelay) -> type[QuietHandler]:
    class RelayHandler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._relay()

        do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815

        def _error(self, status: int, kind: str, message: str, protocol: str) -> None:
            if protocol == MESSAGES:
                payload: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
            else:
                payload = {"error": {"message": message, "type": kind, "param": None, "code": None}}
            send_json(self, status, payload)

        def _relay(self) -> None:
            started = time.monotonic()
            path = self.path.split("?")[0]
            call = RelayCall(self.command, path, 0)
            protocol = relay.route(self.command, path)
            try:
                raw = _read_request_body(self)
            except (ValueError, OSError, EOFError, zlib.error) as exc:  # a body it cannot read is refused
                return self._refuse(call, 400, "invalid_request_error", f"corebench relay: {exc}")
            if not relay.token_matches(offered_key(self.headers)):
                return self._refuse(call, 401, "authentication_error", "corebench relay: unknown task token")
            if protocol is None:
                return self._refuse(call, 403, "permission_error",
                                    f"corebench relay: {self.command} {path} is not forwarded; "
                                    f"agents may call {relay.allowed()}")
            refusal = relay.refusal()
            if refusal:
                relay.budget_exceeded.set()
                return self._refuse(call, 400, "invalid_request_error",
                                    f"corebench relay: {refusal}; the task is stopped", refusal)
            if raw:
                try:
                    body = json.loads(raw)
                    if not isinstance(body, dict):
                        raise ValueError("not a JSON object")
                except ValueError as exc:
                    return self._refuse(call, 400, "invalid_request_error", f"corebench relay: body: {exc}")
                raw = json.dumps(relay.rewrite(protocol, body, call)).encode()
            headers = relay.forward_headers(dict(self.headers.items()))
            headers["content-length"] = str(len(raw))
            connection = relay.open_upstream()
            try:
                connection.request(self.command, relay.upstream_path(self.path), body=raw or None, headers=headers)
                response = connection.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                call.upstream_error = f"gave no answer ({type(exc).__name__})"
                self._refuse(call, 502, "api_error", f"corebench relay: the model API did not answer ({exc})",
                             f"upstream: {exc}")
                connection.close()
                return
            try:
                self._pass_back(call, protocol, response, started)
            finally:
                connection.close()

        def _refuse(self, call: RelayCall, status: int, kind: str, message: str, reason: str = "") -> None:
            call.status, call.refused = status, reason or message.removeprefix("corebench relay: ")
            relay.record(call, None)
            self._error(status, kind, message, relay.route(call.method, call.path) or relay.protocol)

        def _pass_back(self, call: RelayCall, protocol: str, response: http.client.HTTPResponse,
                       started: float) -> None:
            call.status = response.status
            if response.status >= 500 or response.status == 429:
                call.upstream_error = str(response.status)
            headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _NOT_RETURNED]
            if "text/event-stream" not in (response.getheader("content-type") or ""):
                try:
                    payload = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    call.upstream_error = call.upstream_error or f"cut the answer ({type(exc).__name__})"
                    return self._refuse(call, 502, "api_error", f"corebench relay: the answer broke off ({exc})")
                # Metered before the agent has the answer, so the count is complete when its call returns.
                call.seconds = time.monotonic() - started
                call.model, usage = usage_of_body(protocol, payload) if call.status < 300 else ("", None)
                relay.record(call, usage)
                self.send_response(response.status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            start_chunked(self, response.status, headers)
            reader = StreamUsageReader(protocol)
            recorded = False

            def record() -> None:
                nonlocal recorded
                if not recorded:
                    recorded = True
                    call.model = reader.model
                    call.seconds = time.monotonic() - started
                    relay.record(call, reader.usage if call.status < 300 else None)

            try:
                while True:
                    try:
                        chunk = response.read1(65536)
                    except (OSError, http.client.HTTPException) as exc:  # the upstream dropped the stream
                        call.upstream_error = f"cut the stream ({type(exc).__name__})"
                        break
                    if not chunk:
                        break
                    reader.feed(chunk)
                    if reader.finished:  # metered before the agent reads the end of the answer
                        record()
                    write_chunk(self, chunk)
            finally:  # a client that hangs up mid-stream has still been billed for what was sent
                record()
            if call.upstream_error:  # end the agent's stream as broken too, so it retries rather than trusts it
                self.close_connection = True
                return
            end_chunked(self)

    return RelayHandler
