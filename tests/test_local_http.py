"""What a client sees of the local servers and the metering relay alike (agents/relay/http.py): the
key read where the real API reads it, errors in the API's shape, request bodies read the same way.

Every test runs against all four: the scripted Messages server, the relay to it, the scripted
OpenAI server, the relay to it; with raw HTTP (to send exactly the headers a client might) and
with the real anthropic and openai SDKs.
"""

from __future__ import annotations

import gzip
import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass

import anthropic
import openai
import pytest

from corebench_runner.agents.relay.server import MeteringRelay
from corebench_scripted.messages_api import MessagesServer
from corebench_scripted.openai_api import OpenAIServer

KEY = "sk-test-key-0123456789"
OTHER = "sk-some-other-key"
ANTHROPIC_BODY = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
OPENAI_BODY = {"model": "m", "input": "hi"}


@dataclass
class Endpoint:
    name: str
    api: str  # "anthropic" or "openai"
    root: str  # http://host:port; every path is /v1/...
    key: str  # what a client must send: the server's key, or the relay's task token
    upstream: MessagesServer | OpenAIServer  # the scripted server that answers (through the relay or not)

    @property
    def path(self) -> str:
        return "/v1/messages" if self.api == "anthropic" else "/v1/responses"

    @property
    def body(self) -> dict:
        return ANTHROPIC_BODY if self.api == "anthropic" else OPENAI_BODY


ENDPOINTS = ["messages-server", "anthropic-relay", "openai-server", "openai-relay"]


@pytest.fixture
def endpoint(request) -> Iterator[Endpoint]:
    name = request.param
    if name.startswith("messages") or name.startswith("anthropic"):
        server: MessagesServer | OpenAIServer = MessagesServer(api_key=KEY, side_replies=True)
        api, upstream_url, protocol = "anthropic", lambda s: s.url, "anthropic-messages"
    else:
        server = OpenAIServer(api_key=KEY, side_replies=True)
        api, upstream_url, protocol = "openai", lambda s: s.base_url, "openai-responses"
    with server:
        if name.endswith("relay"):
            with MeteringRelay(upstream_url(server), KEY, protocol=protocol) as relay:
                yield Endpoint(name, api, relay.url, relay.token, server)
        else:
            yield Endpoint(name, api, server.url, KEY, server)


def send(endpoint: Endpoint, headers: list[tuple[str, str]], body: bytes | None = None,
         path: str | None = None) -> tuple[int, dict]:
    """POST with exactly these header lines (repeated names included), as raw HTTP."""
    data = json.dumps(endpoint.body).encode() if body is None else body
    connection = http.client.HTTPConnection(endpoint.root.removeprefix("http://"), timeout=10)
    try:
        connection.putrequest("POST", path or endpoint.path, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if not any(name.lower() == "transfer-encoding" for name, _ in headers):
            connection.putheader("content-length", str(len(data)))
        connection.endheaders(data)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def error_of(api: str, payload: dict) -> dict:
    """The error object, after checking the body has the API's error shape."""
    if api == "anthropic":
        assert payload["type"] == "error" and set(payload["error"]) == {"type", "message"}
    else:
        assert set(payload) == {"error"} and set(payload["error"]) == {"message", "type", "param", "code"}
    return payload["error"]


# (what the client sends, the header lines with {key} for the right key, whether it gets through)
BOTH = [
    ("the bearer token", [("Authorization", "Bearer {key}")], True),
    ("the scheme in another case", [("authorization", "bEARER {key}")], True),
    ("spaces and a tab around the token", [("Authorization", "Bearer \t {key}  ")], True),
    ("another scheme", [("Authorization", "Basic {key}")], False),
    ("no scheme", [("Authorization", "{key}")], False),
    ("two different bearers", [("Authorization", "Bearer {key}"), ("Authorization", f"Bearer {OTHER}")], False),
    ("two different bearers, the right one last",
     [("Authorization", f"Bearer {OTHER}"), ("Authorization", "Bearer {key}")], False),
]
ANTHROPIC_ONLY = [
    ("x-api-key", [("x-api-key", "{key}")], True),
    ("x-api-key with spaces around it", [("X-Api-Key", "  {key} ")], True),
    ("two different x-api-keys", [("x-api-key", "{key}"), ("x-api-key", OTHER)], False),
    ("two different x-api-keys, the right one last", [("x-api-key", OTHER), ("x-api-key", "{key}")], False),
    ("a wrong x-api-key beside the right bearer (x-api-key is read first)",
     [("x-api-key", OTHER), ("Authorization", "Bearer {key}")], False),
]
OPENAI_ONLY = [
    ("x-api-key, which OpenAI does not read", [("x-api-key", "{key}")], False),
    ("an x-api-key beside the right bearer (a gateway's, say)",
     [("x-api-key", OTHER), ("Authorization", "Bearer {key}")], True),
]
CASES = [(name, case) for name in ENDPOINTS
         for case in BOTH + (ANTHROPIC_ONLY if name.startswith(("messages", "anthropic")) else OPENAI_ONLY)]


@pytest.mark.parametrize(("endpoint", "case"), CASES, indirect=["endpoint"],
                         ids=[f"{name}: {case[0]}" for name, case in CASES])
def test_the_key_is_read_where_the_real_api_reads_it(endpoint, case):
    _, lines, accepted = case
    status, payload = send(endpoint, [(name, value.format(key=endpoint.key)) for name, value in lines])
    if accepted:
        assert status == 200, payload
        assert payload["object" if endpoint.api == "openai" else "type"] in ("message", "response")
        return
    assert status == 401
    error = error_of(endpoint.api, payload)
    if endpoint.name.endswith("relay"):  # the agent's author learns where the token goes
        where = "x-api-key or Authorization: Bearer" if endpoint.api == "anthropic" else "Authorization: Bearer"
        assert error["message"] == f"corebench relay: unknown task token (the relay reads it from {where})"
        assert endpoint.upstream.requests == []  # never forwarded


@pytest.mark.parametrize("endpoint", ENDPOINTS, indirect=True)
def test_the_sdks_get_through_with_the_key_as_they_send_it(endpoint, monkeypatch):
    if endpoint.api == "openai":
        client = openai.OpenAI(api_key=endpoint.key, base_url=endpoint.root + "/v1", max_retries=0)
        assert client.responses.create(model="m", input="hi").output_text == "Task"
        return
    # Today's SDK sends the key as a bearer token; Claude Code and older SDKs send x-api-key.
    bearer = anthropic.Anthropic(api_key=endpoint.key, base_url=endpoint.root, max_retries=0)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    x_api_key = anthropic.Anthropic(base_url=endpoint.root, max_retries=0, default_headers={"x-api-key": endpoint.key})
    for client in (bearer, x_api_key):
        assert client.messages.create(**ANTHROPIC_BODY).content[0].text == "Task"


@pytest.mark.parametrize("endpoint", ENDPOINTS, indirect=True)
def test_a_key_pasted_with_a_leading_space_still_gets_through(endpoint):
    # `api_key=" sk-..."` (a .env line written `KEY= sk-...`) goes out as "Bearer  sk-...".
    if endpoint.api == "openai":
        client = openai.OpenAI(api_key=" " + endpoint.key, base_url=endpoint.root + "/v1", max_retries=0)
        assert client.responses.create(model="m", input="hi").output_text == "Task"
    else:
        client = anthropic.Anthropic(api_key=" " + endpoint.key, base_url=endpoint.root, max_retries=0)
        assert client.messages.create(**ANTHROPIC_BODY).content[0].text == "Task"


@pytest.mark.parametrize("endpoint", ["openai-server", "openai-relay"], indirect=True)
def test_an_openai_client_is_judged_by_its_bearer_token_alone(endpoint):
    base_url = endpoint.root + "/v1"
    beside = openai.OpenAI(api_key=endpoint.key, base_url=base_url, max_retries=0,
                           default_headers={"x-api-key": OTHER})
    assert beside.responses.create(model="m", input="hi").output_text == "Task"
    instead = openai.OpenAI(api_key="sk-wrong", base_url=base_url, max_retries=0,
                            default_headers={"x-api-key": endpoint.key})
    with pytest.raises(openai.AuthenticationError):
        instead.responses.create(model="m", input="hi")


@pytest.mark.parametrize("endpoint", ["messages-server", "anthropic-relay"], indirect=True)
def test_counting_tokens_needs_the_key_too(endpoint):
    right = anthropic.Anthropic(api_key=endpoint.key, base_url=endpoint.root, max_retries=0)
    assert right.messages.count_tokens(model="m", messages=ANTHROPIC_BODY["messages"]).input_tokens > 0
    wrong = anthropic.Anthropic(api_key="sk-wrong", base_url=endpoint.root, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        wrong.messages.count_tokens(model="m", messages=ANTHROPIC_BODY["messages"])


@pytest.mark.parametrize("endpoint", ENDPOINTS, indirect=True)
def test_chunked_and_gzipped_request_bodies_are_read_and_an_unknown_encoding_is_a_400(endpoint):
    auth = [("Authorization", f"Bearer {endpoint.key}"), ("content-type", "application/json")]
    data = json.dumps(endpoint.body).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)
    assert send(endpoint, [*auth, ("transfer-encoding", "chunked")], chunked)[0] == 200
    assert send(endpoint, [*auth, ("content-encoding", "gzip")], gzip.compress(data))[0] == 200
    status, payload = send(endpoint, [*auth, ("content-encoding", "br")], b"\x1b\x00")
    assert status == 400
    assert "content-encoding br is not supported" in error_of(endpoint.api, payload)["message"]
