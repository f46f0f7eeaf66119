"""A metering relay: the only way an agent inside a container reaches the model API.

The agent CLI in the container is given the relay's URL and a random per-task token in
place of an API key. The relay checks the token, swaps in the real key, forwards the
request upstream (the real API, or the local Messages server in tests), passes the
answer back unchanged (streamed server-sent events included), and reads the usage out
of it to count tokens and dollars. Once the task's dollar or token cap is spent it
answers every further call with a 400 error and sets `budget_exceeded`, so the task
ends there. The real key never leaves this process.
"""

from __future__ import annotations

import hmac
import http.client
import json
import secrets
import ssl
import threading
import urllib.request
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import urlsplit

from corebench_runner.errors import UserError
from corebench_runner.records import TOKEN_FIELDS, Usage

# (model name, usage of one call without cost) -> dollars, or None when the price is unknown.
CostFunction = Callable[[str, Usage], "float | None"]

# Headers that describe one hop, or that the relay sets itself.
_NOT_FORWARDED = {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "trailer",
                  "upgrade", "proxy-authorization", "proxy-connection", "x-api-key", "authorization",
                  "accept-encoding"}
_NOT_RETURNED = {"content-length", "connection", "keep-alive", "transfer-encoding", "content-encoding"}


def usage_from(raw: dict[str, Any] | None) -> Usage:
    raw = raw or {}
    return Usage(**{name: int(raw.get(name) or 0) for name in TOKEN_FIELDS}, cost_usd=None, calls=1)


class SseUsageReader:
    """Follows a Messages stream chunk by chunk and keeps the model and the final usage.

    message_start carries the input side; each message_delta carries running totals that
    replace what came before.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self.model = ""
        self.raw_usage: dict[str, Any] = {}
        self.saw_message = False

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk.replace(b"\r\n", b"\n")
        while b"\n\n" in self._buffer:
            event, self._buffer = self._buffer.split(b"\n\n", 1)
            self._read_event(event)

    def _read_event(self, event: bytes) -> None:
        data = b"\n".join(line[5:].lstrip() for line in event.split(b"\n") if line.startswith(b"data:"))
        if not data:
            return
        try:
            payload = json.loads(data)
        except ValueError:
            return
        if payload.get("type") == "message_start":
            message = payload.get("message") or {}
            self.saw_message = True
            self.model = message.get("model") or self.model
            self.raw_usage.update({k: v for k, v in (message.get("usage") or {}).items() if v is not None})
        elif payload.get("type") == "message_delta":
            self.raw_usage.update({k: v for k, v in (payload.get("usage") or {}).items() if v is not None})


@dataclass
class RelayCall:
    """One forwarded call, for the task's transcript."""

    method: str
    path: str
    status: int
    model: str = ""
    usage: Usage | None = None
    seconds: float = 0.0
    refused: str = ""


@dataclass
class RelayState:
    usage: Usage = field(default_factory=lambda: Usage(cost_usd=0.0))
    calls: list[RelayCall] = field(default_factory=list)


class MeteringRelay:
    """Start with `with MeteringRelay(...) as relay:`; hand `relay.port` and `relay.token` to the agent."""

    def __init__(self, upstream_url: str, api_key: str, cost: CostFunction | None = None,
                 max_cost_usd: float | None = None, max_tokens: int | None = None,
                 host: str = "127.0.0.1", port: int = 0, upstream_timeout: float = 600.0,
                 ca_file: str | None = None) -> None:
        parts = urlsplit(upstream_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UserError(f"model base URL {upstream_url!r} is not an http(s) URL; fix ANTHROPIC_BASE_URL")
        if not api_key:
            raise UserError("no API key for the relay to add; set ANTHROPIC_API_KEY")
        self.upstream = parts
        self._api_key = api_key
        self.cost = cost
        self.max_cost_usd = max_cost_usd
        self.max_tokens = max_tokens
        self.upstream_timeout = upstream_timeout
        self._tls = ssl.create_default_context(cafile=ca_file) if parts.scheme == "https" else None
        self.token = "cbr-" + secrets.token_urlsafe(24)  # what the container gets instead of a key
        self.state = RelayState()
        self.budget_exceeded = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def host(self) -> str:
        return self._server.server_address[0]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "MeteringRelay":
        self._thread = threading.Thread(target=self._server.serve_forever, name="metering-relay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

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

    def token_matches(self, offered: str) -> bool:
        return bool(offered) and hmac.compare_digest(offered.encode(), self.token.encode())

    def refusal(self) -> str:
        """Why a new call must be refused, or "" while the budget lasts."""
        usage = self.usage
        if self.max_cost_usd is not None and usage.cost_usd is not None and usage.cost_usd >= self.max_cost_usd:
            return f"the task's budget of ${self.max_cost_usd:g} is spent (${usage.cost_usd:.4f} used)"
        spent_tokens = usage.input_tokens + usage.output_tokens + usage.cache_creation_input_tokens \
            + usage.cache_read_input_tokens
        if self.max_tokens is not None and spent_tokens >= self.max_tokens:
            return f"the task's budget of {self.max_tokens} tokens is spent ({spent_tokens} used)"
        return ""

    def record(self, call: RelayCall, raw_usage: dict[str, Any] | None) -> None:
        if raw_usage is not None:
            usage = usage_from(raw_usage)
            usage.cost_usd = self.cost(call.model, usage) if self.cost else None
            call.usage = usage
        with self._lock:
            self.state.calls.append(call)
            if call.usage is not None:
                self.state.usage.add(call.usage)
        if call.usage is not None and self.refusal():
            self.budget_exceeded.set()

    def forward_headers(self, incoming: dict[str, str]) -> dict[str, str]:
        headers = {k: v for k, v in incoming.items() if k.lower() not in _NOT_FORWARDED}
        headers["x-api-key"] = self._api_key
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


def _handler_for(relay: MeteringRelay) -> type[BaseHTTPRequestHandler]:
    class RelayHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: calls go to the transcript
            return

        def do_GET(self) -> None:
            self._relay()

        def do_POST(self) -> None:
            self._relay()

        def do_PUT(self) -> None:
            self._relay()

        def do_PATCH(self) -> None:
            self._relay()

        def do_DELETE(self) -> None:
            self._relay()

        def _error(self, status: int, kind: str, message: str) -> None:
            body = json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _offered_token(self) -> str:
            bearer = self.headers.get("authorization", "")
            return self.headers.get("x-api-key") or (bearer[7:] if bearer.lower().startswith("bearer ") else "")

        def _relay(self) -> None:
            started = time.monotonic()
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            if not relay.token_matches(self._offered_token()):
                relay.record(RelayCall(self.command, self.path.split("?")[0], 401, refused="bad token"), None)
                return self._error(401, "authentication_error", "corebench relay: unknown task token")
            refusal = relay.refusal()
            if refusal:
                relay.budget_exceeded.set()
                relay.record(RelayCall(self.command, self.path.split("?")[0], 400, refused=refusal), None)
                return self._error(400, "invalid_request_error", f"corebench relay: {refusal}; the task is stopped")
            prefix = relay.upstream.path.rstrip("/")
            connection = relay.open_upstream()
            try:
                connection.request(self.command, prefix + self.path, body=body or None,
                                   headers=relay.forward_headers(dict(self.headers.items())))
                response = connection.getresponse()
                self._pass_back(response, started)
            except OSError as exc:
                relay.record(RelayCall(self.command, self.path.split("?")[0], 502, refused=f"upstream: {exc}"), None)
                self._error(502, "api_error", f"corebench relay: the model API did not answer ({exc})")
            finally:
                connection.close()

        def _pass_back(self, response: http.client.HTTPResponse, started: float) -> None:
            call = RelayCall(self.command, self.path.split("?")[0], response.status)
            streaming = "text/event-stream" in (response.getheader("content-type") or "")
            self.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() not in _NOT_RETURNED:
                    self.send_header(name, value)
            if not streaming:
                payload = response.read()
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                call.seconds = time.monotonic() - started
                relay.record(call, self._usage_of_body(call, payload))
                return
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            reader = SseUsageReader()
            try:
                while chunk := response.read1(65536):
                    reader.feed(chunk)
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            finally:  # a client that hangs up mid-stream has still been billed for what was sent
                call.model = reader.model
                call.seconds = time.monotonic() - started
                relay.record(call, reader.raw_usage if (reader.saw_message and call.status < 300) else None)

        @staticmethod
        def _usage_of_body(call: RelayCall, payload: bytes) -> dict[str, Any] | None:
            if call.status >= 300:
                return None
            try:
                data = json.loads(payload)
            except ValueError:
                return None
            if not isinstance(data, dict) or data.get("type") != "message":
                return None  # e.g. count_tokens: free, nothing to meter
            call.model = data.get("model") or ""
            return data.get("usage") or {}

    return RelayHandler
