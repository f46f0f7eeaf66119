"""Model clients over HTTPS: every client of a process shares one TLS context, and it still checks.

The real SDKs talk to the local scripted servers through a TLS front with a certificate made
for this test: trusted only when $SSL_CERT_FILE names it (as for a company proxy), refused
otherwise. Both SDKs, both ways.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from corebench_runner.models.anthropic_client import AnthropicClient
from corebench_runner.models.errors import ModelUnavailable
from corebench_runner.models.openai_client import OpenAIClient
from corebench_runner.models.tls import shared_tls_context
from corebench_scripted.messages_api import MessagesServer
from corebench_scripted.openai_api import OpenAIServer
from support_messages import PRICED_MODEL, TEST_KEY, reply, text

HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def tls_front(plain_port: int, certificate: tuple[Path, Path]) -> Iterator[int]:
    """A TLS listener on 127.0.0.1 that passes each connection on to the plain local server."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    listener = socket.create_server(("127.0.0.1", 0))
    stopping = threading.Event()

    def accept() -> None:
        while not stopping.is_set():
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            try:
                secure = context.wrap_socket(raw, server_side=True)
            except (OSError, ssl.SSLError):  # the client refused our certificate
                raw.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", plain_port))
            for source, sink in ((secure, upstream), (upstream, secure)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        stopping.set()
        listener.close()


def port_of(server: MessagesServer | OpenAIServer) -> int:
    port = urlsplit(server.url).port
    assert port is not None
    return port


@pytest.fixture
def fresh_context(monkeypatch) -> Iterator[None]:
    """The process's shared context is made again from this test's environment, and forgotten after."""
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    shared_tls_context.cache_clear()
    yield
    shared_tls_context.cache_clear()


def test_both_sdks_trust_the_ca_store_named_by_ssl_cert_file_and_share_one_context(
        certificate, fresh_context, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    with MessagesServer([reply(text("over TLS"))], api_key=TEST_KEY) as anthropic_server, \
            OpenAIServer([reply(text("over TLS too"))], api_key=TEST_KEY) as openai_server:
        for port in tls_front(port_of(anthropic_server), certificate):
            claude = AnthropicClient(PRICED_MODEL, api_key=TEST_KEY, base_url=f"https://127.0.0.1:{port}",
                                     max_retries=0)
            assert claude.complete("", HELLO).content[0]["text"] == "over TLS"
            claude.close()
        for port in tls_front(port_of(openai_server), certificate):
            gpt = OpenAIClient("gpt-5", api_key=TEST_KEY, base_url=f"https://127.0.0.1:{port}/v1", api="chat",
                               max_retries=0)
            assert gpt.complete("", HELLO).content[0]["text"] == "over TLS too"
            gpt.close()
    assert shared_tls_context.cache_info().misses == 1  # one context for both clients


def test_a_certificate_the_ca_store_does_not_hold_is_refused(certificate, fresh_context, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)  # the system store, which never saw this certificate
    with MessagesServer([reply(text("must not arrive"))], api_key=TEST_KEY) as server:
        for front in tls_front(port_of(server), certificate):
            claude = AnthropicClient(PRICED_MODEL, api_key=TEST_KEY, base_url=f"https://127.0.0.1:{front}",
                                     max_retries=0)
            with pytest.raises(ModelUnavailable, match="cannot reach"):
                claude.complete("", HELLO)
            claude.close()
        assert server.steps.left == 1  # nothing got through
