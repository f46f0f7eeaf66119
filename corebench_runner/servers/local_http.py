"""What the local HTTP servers share: a server on a background thread, and the bits of the wire.

The scripted Messages and OpenAI servers and the metering relay are all a
ThreadingHTTPServer on one thread, started and stopped around a block of work, that reads
a JSON body, reads an API key the way the providers' SDKs send it, and answers with JSON or
with server-sent events.
"""

from __future__ import annotations

import json
import selectors
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable


def offered_key(headers: Any) -> str:
    """The key a client sent: Anthropic's x-api-key, else OpenAI's `Authorization: Bearer KEY`."""
    bearer = headers.get("authorization") or ""
    return headers.get("x-api-key") or (bearer[7:] if bearer.lower().startswith("bearer ") else "")


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    length = int(handler.headers.get("content-length") or 0)
    return handler.rfile.read(length) if length else b""


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
    """A ThreadingHTTPServer served from a daemon thread; a context manager."""

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
