"""The metering relay, driven by the real anthropic SDK over HTTP against the local Messages server."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import anthropic
import pytest

from corebench_runner.agents.relay.server import MeteringRelay
from corebench_runner.errors import UserError
from corebench_runner.models.pricing import Price
from corebench_runner.records import Usage
from corebench_scripted.messages_api import MessagesServer

REAL_KEY = "sk-ant-real-key-for-tests-0123456789"
# $1 per million input tokens, $10 per million output tokens: easy sums.
PRICE = Price(input=1.0, output=10.0, cache_write=2.0, cache_read=0.5)


def priced(model: str, usage: Usage) -> float | None:
    return PRICE.cost(usage) if model == "claude-test" else None


def text_step(text: str, input_tokens: int, output_tokens: int) -> dict:
    return {"content": [{"type": "text", "text": text}],
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}}


def ask(client: anthropic.Anthropic, stream: bool) -> str:
    kwargs = dict(model="claude-test", max_tokens=100, messages=[{"role": "user", "content": "hi"}],
                  tools=[{"name": "noop", "description": "does nothing", "input_schema": {"type": "object"}}])
    if stream:
        with client.messages.stream(**kwargs) as events:
            return events.get_final_message().content[0].text
    return client.messages.create(**kwargs).content[0].text


@pytest.fixture
def upstream():
    with MessagesServer(api_key=REAL_KEY, side_replies=True) as server:
        yield server


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_relay_swaps_the_token_for_the_key_and_meters_usage(upstream, stream):
    upstream.add(text_step("first", 1000, 100), text_step("second", 2000, 300))
    with MeteringRelay(upstream.url, REAL_KEY, cost=priced) as relay:
        client = anthropic.Anthropic(base_url=relay.url, api_key=relay.token, max_retries=0)
        assert ask(client, stream) == "first"
        assert ask(client, stream) == "second"
        usage = relay.usage
    assert (usage.input_tokens, usage.output_tokens, usage.calls) == (3000, 400, 2)
    assert usage.cost_usd == pytest.approx(3000 / 1e6 * 1.0 + 400 / 1e6 * 10.0)
    # Upstream saw the real key; the agent's token never left the relay.
    assert [r.headers["x-api-key"] for r in upstream.requests] == [REAL_KEY, REAL_KEY]
    assert all(relay.token not in str(r.headers) for r in upstream.requests)
    assert not relay.budget_exceeded.is_set()


def test_streamed_events_reach_the_client_unchanged(upstream):
    upstream.add({"content": [{"type": "text", "text": "let me look"},
                              {"type": "tool_use", "name": "noop", "input": {"path": "/workspace"}}]})
    with MeteringRelay(upstream.url, REAL_KEY, cost=priced) as relay:
        client = anthropic.Anthropic(base_url=relay.url, api_key=relay.token, max_retries=0)
        with client.messages.stream(model="claude-test", max_tokens=50, messages=[{"role": "user", "content": "x"}],
                                    tools=[{"name": "noop", "description": "d", "input_schema": {"type": "object"}}]) as s:
            kinds = [event.type for event in s]
            final = s.get_final_message()
    assert kinds[0] == "message_start" and "content_block_delta" in kinds
    assert final.stop_reason == "tool_use"
    assert final.content[1].input == {"path": "/workspace"}
    assert relay.calls[0].usage.output_tokens == final.usage.output_tokens


def test_a_wrong_token_is_refused_and_never_forwarded(upstream):
    upstream.add(text_step("never", 1, 1))
    with MeteringRelay(upstream.url, REAL_KEY, cost=priced) as relay:
        client = anthropic.Anthropic(base_url=relay.url, api_key=REAL_KEY, max_retries=0)
        with pytest.raises(anthropic.AuthenticationError, match="unknown task token"):
            ask(client, stream=False)
    assert upstream.requests == []


def test_other_endpoints_pass_through_without_cost(upstream):
    with MeteringRelay(upstream.url, REAL_KEY, cost=priced) as relay:
        client = anthropic.Anthropic(base_url=relay.url, api_key=relay.token, max_retries=0)
        counted = client.messages.count_tokens(model="claude-test", messages=[{"role": "user", "content": "hello"}])
    assert counted.input_tokens > 0
    assert upstream.requests[0].path.startswith("/v1/messages/count_tokens")
    assert relay.usage.calls == 0 and relay.usage.cost_usd == 0


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_the_dollar_cap_refuses_further_calls(upstream, stream):
    # Each call costs 1000 * $1/M + 1000 * $10/M = $0.011; the cap is $0.02.
    upstream.add(*[text_step(f"reply {i}", 1000, 1000) for i in range(5)])
    with MeteringRelay(upstream.url, REAL_KEY, cost=priced, max_cost_usd=0.02) as relay:
        client = anthropic.Anthropic(base_url=relay.url, api_key=relay.token, max_retries=0)
        ask(client, stream)
        assert not relay.budget_exceeded.is_set()
        ask(client, stream)  # goes over the cap: allowed to finish, but it is the last
        assert relay.budget_exceeded.is_set()
        with pytest.raises(anthropic.BadRequestError, match=r"budget of \$0.02 is spent"):
            ask(client, stream)
    assert len(upstream.requests) == 2
    assert relay.usage.cost_usd == pytest.approx(0.022)
    assert relay.calls[-1].refused.startswith("the task's budget")


def test_unknown_price_is_recorded_as_unknown_cost(upstream):
    upstream.add(text_step("ok", 10, 10))
    with MeteringRelay(upstream.url, REAL_KEY, cost=priced, max_cost_usd=0.01) as relay:
        client = anthropic.Anthropic(base_url=relay.url, api_key=relay.token, max_retries=0)
        client.messages.create(model="some-unpriced-model", max_tokens=5, messages=[{"role": "user", "content": "x"}],
                               tools=[{"name": "noop", "description": "d", "input_schema": {"type": "object"}}])
    assert relay.usage.cost_usd is None
    assert relay.usage.input_tokens == 10


def test_bad_upstream_url_or_missing_key_is_a_user_error():
    with pytest.raises(UserError, match="ANTHROPIC_BASE_URL"):
        MeteringRelay("localhost:9", REAL_KEY)
    with pytest.raises(UserError, match="ANTHROPIC_API_KEY"):
        MeteringRelay("http://127.0.0.1:9", "")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a test certificate")
def test_an_https_upstream_is_reached_with_the_configured_ca_bundle(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    upstream = MessagesServer([text_step("over tls", 100, 10)], api_key=REAL_KEY, side_replies=True)
    # The listening socket goes into TLS before the server's thread starts: wrapping it under a running
    # thread could hand that thread the detached socket (fd -1), and the server would never answer.
    upstream.bind()
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    upstream._http._httpd.socket = tls.wrap_socket(upstream._http._httpd.socket, server_side=True)
    with upstream:
        https_url = upstream.url.replace("http://", "https://")
        with MeteringRelay(https_url, REAL_KEY, cost=priced, ca_file=str(cert)) as relay:
            client = anthropic.Anthropic(base_url=relay.url, api_key=relay.token, max_retries=0, timeout=60)
            assert ask(client, stream=True) == "over tls"
        assert relay.usage.input_tokens == 100
        # Without the bundle, the certificate is not trusted and the agent gets a clean 502.
        with MeteringRelay(https_url, REAL_KEY, cost=priced) as relay:
            client = anthropic.Anthropic(base_url=relay.url, api_key=relay.token, max_retries=0, timeout=60)
            with pytest.raises(anthropic.InternalServerError, match="did not answer"):
                ask(client, stream=False)


def test_an_answer_naming_an_unpriced_model_cannot_turn_the_cap_off(upstream):
    # The upstream claims another model in its answers; the run's model is what is priced and capped.
    upstream.add(*[{**text_step(f"reply {i}", 1000, 1000), "model": "claude-unpriced-alias"} for i in range(3)])
    with MeteringRelay(upstream.url, REAL_KEY, cost=priced, max_cost_usd=0.02, model="claude-test") as relay:
        client = anthropic.Anthropic(base_url=relay.url, api_key=relay.token, max_retries=0)
        ask(client, stream=False)
        ask(client, stream=True)
        with pytest.raises(anthropic.BadRequestError, match=r"budget of \$0.02 is spent"):
            ask(client, stream=False)
    assert relay.usage.cost_usd == pytest.approx(0.022) and len(upstream.requests) == 2
    assert [c.model for c in relay.calls[:2]] == ["claude-unpriced-alias"] * 2  # what the answers said
