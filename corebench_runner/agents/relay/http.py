"""What the local HTTP servers share: one server on a background thread, and the bits of the wire.

The scripted Messages and OpenAI servers and the agents' metering relay are each a LocalServer: a
ThreadingHTTPServer on one thread, started and stopped around a block of work, whose requests all
go through one handler. A request's body is read (chunked or gzipped bodies too), its API key is
read the way the real API reads it (api_key_of), and it is refused in that API's error shape
(error_body) or answered with JSON or server-sent events.
"""

from __future__ import annotations

import gzip
import hmac
import json
import re
import selectors
import socket
import threading
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

# The two API families: how a key is sent and how an error looks.
ANTHROPIC, OPENAI = "anthropic", "openai"
_BEARER = re.compile(r"bearer[ \t]+(\S+)", re.IGNORECASE)


def api_of(protocol: str) -> str:
    """The family of a wire protocol ("anthropic-messages", "openai-responses", "openai-chat")."""
    return ANTHROPIC if protocol.startswith(ANTHROPIC) else OPENAI


def api_key_of(headers: Message, api: str) -> str:
    """The key a request carries, read as the real API reads it. OpenAI: `Authorization: Bearer KEY`.
    Anthropic: `x-api-key: KEY`, else the bearer token (today's anthropic SDK sends its key that way).
    The scheme may be in any case, and whitespace around the key is no part of it. "" when there is
    none, or when the header comes twice with different keys (neither is sure to be the one)."""
    if api == ANTHROPIC:
        sent = {value.strip() for value in headers.get_all("x-api-key") or []} - {""}
        if sent:
            return _one(sent)
    bearers = [_BEARER.fullmatch(value.strip()) for value in headers.get_all("authorization") or []]
    return _one({bearer.group(1) if bearer else "" for bearer in bearers})


def _one(keys: set[str]) -> str:
    return keys.pop() if len(keys) == 1 else ""


def error_body(api: str, kind: str, message: str, code: str | None = None) -> dict[str, Any]:
    """An error as the API family answers it."""
    if api == ANTHROPIC:
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, de-chunked and un-gzipped; ValueError for an encoding that cannot be read."""
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
        raise ValueError(f"content-encoding {encoding} is not supported; send the body uncompressed")
    return body


def send_json(handler: BaseHTTPRequestHandler, status: int, payload: Any,
              extra: dict[str, str] | None = None) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(data)))
    handler.send_header("request-id", f"req_{uuid.uuid4().hex[:24]}")
    for name, value in (extra or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    try:
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (e.g. a scripted delay)
        pass


def start_chunked(handler: BaseHTTPRequestHandler, status: int = 200,
                  headers: Iterable[tuple[str, str]] = (("content-type", "text/event-stream"),)) -> None:
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("transfer-encoding", "chunked")
    handler.end_headers()


def write_chunk(handler: BaseHTTPRequestHandler, data: bytes) -> None:
    if data:  # an empty chunk would end the body
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        handler.wfile.flush()


def end_chunked(handler: BaseHTTPRequestHandler) -> None:
    handler.wfile.write(b"0\r\n\r\n")
    handler.wfile.flush()


def send_events(handler: BaseHTTPRequestHandler, events: Iterable[bytes]) -> None:
    """A 200 answer of server-sent events, each already encoded, sent as they come."""
    start_chunked(handler, 200, (("content-type", "text/event-stream"),
                                 ("request-id", f"req_{uuid.uuid4().hex[:24]}")))
    for event in events:
        write_chunk(handler, event)
    end_chunked(handler)


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 (keep-alive, chunked answers) and no access log on stderr."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return


@dataclass
class Request:
    """One request as a LocalServer sees it, its body read."""

    method: str
    target: str  # as sent, query included
    headers: dict[str, str]  # names in lower case
    key: str  # the API key it carries (api_key_of), "" when none
    raw: bytes

    @property
    def path(self) -> str:
        return self.target.split("?")[0]

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object ({} when empty); ValueError when it is not one."""
        body = json.loads(self.raw or b"{}")
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        return body


class LocalServer:
    """A local server of one API family; start with `with server:` or start()/stop().

    Every request, whatever its method, goes to serve() with its body read (a body that cannot
    be read is refused with a 400 first). serve() calls check_key() where it checks the key: a
    wrong one is refused with a 401 (`key_refusal`); with no api_key, any key or none passes.
    Subclasses set `api` and write serve().
    """

    api = ANTHROPIC
    thread_name = "local-http"
    key_refusal: tuple[str, str, str | None] = ("authentication_error", "invalid x-api-key", None)  # kind, message, code

    def __init__(self, api_key: str | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api_key = api_key
        self._address = (host, port)
        self._http: BackgroundServer | None = None
        self.stopping = threading.Event()  # set by stop(), so answers that wait (a scripted delay) end

    # ------------------------------------------------------------ lifecycle
    def bind(self) -> None:
        """Take the address now (start() does it otherwise); OSError when it cannot be bound."""
        if self._http is None:
            self._http = BackgroundServer(handler_for(self), *self._address, name=self.thread_name)

    def start(self) -> Self:
        self.bind()
        assert self._http is not None
        self.stopping.clear()
        self._http.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._http is not None:
            self._http.stop()
            self._http = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _bound(self) -> BackgroundServer:
        if self._http is None:
            raise RuntimeError("the server is not running; use it as a context manager")
        return self._http

    @property
    def host(self) -> str:
        return self._bound().host

    @property
    def port(self) -> int:
        return self._bound().port

    @property
    def url(self) -> str:
        return self._bound().url

    # ------------------------------------------------------------ requests
    def handle(self, handler: QuietHandler) -> None:
        request = Request(handler.command, handler.path, {k.lower(): v for k, v in handler.headers.items()},
                          api_key_of(handler.headers, self.api), b"")
        try:  # read before any answer, a refusal too: unread bytes would spoil the kept-alive connection
            request.raw = read_body(handler)
        except (ValueError, OSError, EOFError, zlib.error) as exc:
            return self.refuse(handler, request, 400, "invalid_request_error", str(exc))
        self.serve(handler, request)

    def serve(self, handler: QuietHandler, request: Request) -> None:
        raise NotImplementedError

    def check_key(self, handler: QuietHandler, request: Request) -> bool:
        """True when the request carries the key (or none is needed); else it is refused with a 401."""
        if self.api_key is None or (request.key and hmac.compare_digest(request.key.encode(), self.api_key.encode())):
            return True
        kind, message, code = self.key_refusal
        self.refuse(handler, request, 401, kind, message, code)
        return False

    def refuse(self, handler: QuietHandler, request: Request, status: int, kind: str, message: str,
               code: str | None = None) -> None:
        send_json(handler, status, error_body(self.api, kind, message, code))


def handler_for(server: LocalServer) -> type[QuietHandler]:
    """The request handler class of `server`: every method goes to server.handle()."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            server.handle(self)

        do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815

    return Handler


class _WakeableServer(ThreadingHTTPServer):
    """Serves until stop() and stops at once: serve_forever() notices a shutdown only at its next
    0.5 s poll, which every task with a local model server would wait through."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._wake_read, self._wake_write = socket.socketpair()
        self._stopping = False

    def serve_until_stopped(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while not self._stopping:
                for key, _ in selector.select():
                    if key.fileobj is self and not self._stopping:
                        self._handle_request_noblock()

    def stop_serving(self) -> None:
        self._stopping = True
        try:
            self._wake_write.send(b"x")
        except OSError:  # already closed
            pass

    def server_close(self) -> None:
        super().server_close()
        self._wake_read.close()
        self._wake_write.close()


class BackgroundServer:
    """A ThreadingHTTPServer served from a daemon thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1", port: int = 0,
                 name: str = "local-http") -> None:
        self._httpd = _WakeableServer((host, port), handler)
        self._name = name
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_until_stopped, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            self._httpd.server_close()
            return
        self._httpd.stop_serving()
        self._thread.join(timeout=5)
        self._httpd.server_close()
        self._thread = None
