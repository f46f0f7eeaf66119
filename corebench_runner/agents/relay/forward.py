"""One call through the metering relay, once its rules let it pass (agents/relay/server.py): the request
goes upstream with the model pinned and the real key, and the answer comes back to the agent
unchanged, streamed as it arrives, while its usage is read and metered.

The count is complete before the agent has the end of the answer, and an upstream that fails
(no answer, a broken answer or stream, 5xx, 429) is marked on the call as `upstream_error`.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.request
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from corebench_runner.agents.relay.http import QuietHandler, Request, end_chunked, start_chunked, write_chunk
from corebench_runner.agents.relay.usage import StreamUsageReader, usage_of_body

if TYPE_CHECKING:
    from corebench_runner.agents.relay.server import MeteringRelay, RelayCall

# Headers that describe one hop, or that the relay sets itself.
_NOT_RETURNED = {"content-length", "connection", "keep-alive", "transfer-encoding", "content-encoding"}


def forward(relay: MeteringRelay, handler: QuietHandler, request: Request, call: RelayCall, protocol: str,
            target: str) -> None:
    """Forward the agent's request and pass the answer back; `protocol` is the one the answer is read in,
    `target` the normalised path and query the relay allowed (relay.normalised_target): nothing else goes."""
    started = time.monotonic()
    raw = request.raw
    if raw:
        try:
            body = request.json_object()
        except ValueError as exc:
            return relay.refuse_call(handler, call, 400, "invalid_request_error", f"body: {exc}")
        raw = json.dumps(relay.rewrite(protocol, body, call)).encode()
    headers = relay.forward_headers(dict(handler.headers.items()))
    headers["content-length"] = str(len(raw))
    connection = open_upstream(relay)
    try:
        connection.request(request.method, relay.upstream_path(target), body=raw or None, headers=headers)
        response = connection.getresponse()
    except (OSError, http.client.HTTPException) as exc:
        call.upstream_error = f"gave no answer ({type(exc).__name__})"
        relay.refuse_call(handler, call, 502, "api_error", f"the model API did not answer ({exc})", f"upstream: {exc}")
        connection.close()
        return
    try:
        _pass_back(relay, handler, call, protocol, response, started)
    finally:
        connection.close()


def open_upstream(relay: MeteringRelay) -> http.client.HTTPConnection:
    upstream = relay.upstream
    host, port = upstream.hostname or "", upstream.port
    if upstream.scheme == "http":
        return http.client.HTTPConnection(host, port, timeout=relay.upstream_timeout)
    proxy = urllib.request.getproxies().get("https")
    if proxy and not urllib.request.proxy_bypass(host):  # honour $HTTPS_PROXY / $NO_PROXY like the SDK
        via = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        connection = http.client.HTTPSConnection(via.hostname or "", via.port or 8080,
                                                 timeout=relay.upstream_timeout, context=relay.tls)
        connection.set_tunnel(host, port or 443)
        return connection
    return http.client.HTTPSConnection(host, port, timeout=relay.upstream_timeout, context=relay.tls)


def _pass_back(relay: MeteringRelay, handler: QuietHandler, call: RelayCall, protocol: str,
               response: http.client.HTTPResponse, started: float) -> None:
    call.status = response.status
    if response.status >= 500 or response.status == 429:
        call.upstream_error = str(response.status)
    headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _NOT_RETURNED]
    if "text/event-stream" not in (response.getheader("content-type") or ""):
        try:
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            call.upstream_error = call.upstream_error or f"cut the answer ({type(exc).__name__})"
            return relay.refuse_call(handler, call, 502, "api_error", f"the answer broke off ({exc})")
        # Metered before the agent has the answer, so the count is complete when its call returns.
        call.seconds = time.monotonic() - started
        call.model, usage = usage_of_body(protocol, payload) if call.status < 300 else ("", None)
        relay.record(call, usage)
        handler.send_response(response.status)
        for name, value in headers:
            handler.send_header(name, value)
        handler.send_header("content-length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
        return
    start_chunked(handler, response.status, headers)
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
            write_chunk(handler, chunk)
    finally:  # a client that hangs up mid-stream has still been billed for what was sent
        record()
    if call.upstream_error:  # end the agent's stream as broken too, so it retries rather than trusts it
        handler.close_connection = True
        return
    end_chunked(handler)
