"""A streaming front for the local Messages server, for agent CLIs that only stream.

StreamingMessagesServer plays the same scripts as corebench_runner.messages_server (it
reuses its request checks, script steps and usage), and when a request asks for
`"stream": true` it answers with the real server-sent event sequence (corebench_runner.sse).

Calls that are not the agent's main loop (no `tools` in the request: e.g. a CLI's title
or topic side requests) are answered by `side_reply` without using up a script step, so
a script lists only the agent's real turns. Such calls are kept in `side_requests`.
"""

from __future__ import annotations

import json
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from corebench_runner.messages_server import MessagesServer, RecordedRequest, estimate_tokens
from corebench_runner.sse import encode_event, reply_events


def side_reply(body: dict[str, Any]) -> dict[str, Any]:
    text = "Task"
    return {"id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant", "model": body.get("model"),
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": estimate_tokens(body.get("messages")), "output_tokens": 1,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}


class StreamingMessagesServer(MessagesServer):
    def __init__(self, script: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(script, **kwargs)
        self.side_requests: list[RecordedRequest] = []

    def start(self) -> "StreamingMessagesServer":
        import threading

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _streaming_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="streaming-messages", daemon=True)
        self._thread.start()
        return self

    def __enter__(self) -> "StreamingMessagesServer":
        return self.start()

    @property
    def main_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r not in self.side_requests]


def _streaming_handler(server: StreamingMessagesServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": self.path}})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            body = json.loads(raw or b"{}")
            record = RecordedRequest(self.path, headers, body)
            server.requests.append(record)
            path = self.path.split("?")[0]
            if path == "/v1/messages/count_tokens":
                return self._send_json(200, {"input_tokens": estimate_tokens(body.get("messages"))})
            if path != "/v1/messages":
                return self._send_json(404, {"type": "error", "error": {"type": "not_found_error",
                                                                         "message": f"no route {path}"}})
            stream = bool(body.pop("stream", False))
            if not body.get("tools"):
                server.side_requests.append(record)
                status, reply = 200, side_reply(body)
                if server.api_key is not None and headers.get("x-api-key") != server.api_key:
                    status, reply = 401, {"type": "error", "error": {"type": "authentication_error",
                                                                     "message": "invalid x-api-key"}}
            else:
                status, _, reply = server.answer(headers, body)
            if status != 200 or not stream:
                return self._send_json(status, reply)
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for name, data in reply_events(reply):
                chunk = encode_event(name, data)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        def _send_json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
