"""The relay forwards model calls and nothing else, however the path is spelled.

Raw HTTP requests (what `curl --path-as-is` sends: dot segments, percent-encoded dots and slashes,
double slashes, query and fragment tricks) go through the real relay to a fake upstream on
127.0.0.1 that records every request reaching it. Only allowed model calls arrive, on the path the
allow-list saw, and nothing else ever carries the real key.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from corebench_runner.agents.relay.server import MeteringRelay

REAL_KEY = "sk-REAL-key-that-must-not-leave-0123456789"

HOSTILE_TARGETS = [
    "/v1/models/../files", "/v1/models/%2e%2e/files", "/v1/models/x/../../files",
    "/v1/models/%2E%2E/organization/usage", "/v1/models/%2e%2e%2ffiles", "/v1/models%2f..%2ffiles",
    "/v1/models/.%2e/files", "/v1/models/%252e%252e/files", "/v1/models/..%5cfiles", "/v1/models/x%00/../../files",
    "/v1/messages/../files", "/v1/messages/%2e%2e/files", "/v1/messages/count_tokens/../../files",
    "/v1/./responses", "//v1/files", "//127.0.0.1/v1/files", "/v1//responses", "/v1/responses/", "/v1/responses#/../files",
    "/v1/models/x/", "/v1/models/", "/v1/files?/../v1/responses", "http://127.0.0.1/v1/files", "/v1/files",
    "/v1/organization/usage", "/v1/models/x/y",
]


class Recorder(BaseHTTPRequestHandler):
    """The fake upstream: records what reaches it, answers every call as a model would."""

    seen: list[tuple[str, str, str]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        key = self.headers.get("x-api-key") or self.headers.get("authorization") or ""
        self.seen.append((self.command, self.path, key))
        body = json.dumps({"id": "x", "object": "response", "type": "message", "model": "m", "content": [],
                           "output": [], "data": [], "usage": {"input_tokens": 1, "output_tokens": 1}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *args) -> None:
        return


@pytest.fixture
def upstream():
    Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def raw_request(port: int, method: str, target: str, token: str, anthropic: bool) -> int:
    """Send the target byte for byte, as curl --path-as-is does; the status line's code."""
    body = b'{"model": "m", "input": "hi", "max_tokens": 5}' if method == "POST" else b""
    key = f"x-api-key: {token}" if anthropic else f"Authorization: Bearer {token}"
    head = (f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{key}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode("latin-1")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize("protocol", ["openai-responses", "anthropic-messages"])
def test_no_spelling_of_a_path_reaches_the_upstream_but_model_calls(upstream, protocol):
    url = f"http://127.0.0.1:{upstream.server_port}" + ("/v1" if protocol != "anthropic-messages" else "")
    anthropic = protocol == "anthropic-messages"
    with MeteringRelay(url, REAL_KEY, protocol=protocol) as relay:
        for method in ("GET", "POST"):
            for target in HOSTILE_TARGETS:
                status = raw_request(relay.port, method, target, relay.token, anthropic)
                assert status in (400, 403, 404), (method, target, status)
        assert Recorder.seen == []  # not one of them reached the upstream, with the key or without

        allowed = ([("POST", "/v1/messages?beta=true"), ("POST", "/v1/messages/count_tokens")] if anthropic else
                   [("POST", "/v1/responses"), ("POST", "/v1/chat/completions"), ("GET", "/v1/models"),
                    ("GET", "/v1/models/gpt-test"), ("GET", "/v1/models/ft%3Agpt-4o%3Aorg")])
        for method, target in allowed:
            assert raw_request(relay.port, method, target, relay.token, anthropic) == 200, target
    expected = ([("POST", "/v1/messages?beta=true"), ("POST", "/v1/messages/count_tokens")] if anthropic else
                [("POST", "/v1/responses"), ("POST", "/v1/chat/completions"), ("GET", "/v1/models"),
                 ("GET", "/v1/models/gpt-test"), ("GET", "/v1/models/ft:gpt-4o:org")])
    assert [(method, path) for method, path, _ in Recorder.seen] == expected
    assert {key for _, _, key in Recorder.seen} == {REAL_KEY if anthropic else f"Bearer {REAL_KEY}"}
