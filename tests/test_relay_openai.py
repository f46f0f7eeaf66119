"""The metering relay for every API: the real openai and anthropic SDKs over HTTP, through the relay,
to the local scripted servers. Key swap, metering (cached input included), caps, the routes it
refuses, model pinning, and how it reports an upstream outage."""

from __future__ import annotations

import socket
import socketserver
import threading

import anthropic
import openai
import pytest

from corebench_runner.agents.cli_agents.session import price_lookup
from corebench_runner.agents.relay.server import MeteringRelay
from corebench_runner.models.pricing import Price, find_price, load_prices
from corebench_runner.records import Usage
from corebench_scripted.messages_api import MessagesServer
from corebench_scripted.openai_api import OpenAIServer
from support_messages import error, reply, text

REAL_KEY = "sk-proj-REAL-openai-key-for-tests-0123456789"
PRICE = Price(input=1.0, output=10.0, cache_write=1.0, cache_read=0.1)  # $ per million tokens
SHELL = {"type": "function", "name": "shell", "description": "run", "parameters": {"type": "object"}}
CHAT_SHELL = {"type": "function", "function": {"name": "shell", "description": "run", "parameters": {"type": "object"}}}


def priced(model: str, usage: Usage) -> float | None:
    return PRICE.cost(usage) if model == "gpt-test" else None


def step(words: str, prompt: int, cached: int, output: int) -> dict:
    return reply(text(words), usage={"input_tokens": prompt, "cached_tokens": cached, "output_tokens": output})


@pytest.fixture
def upstream():
    with OpenAIServer(api_key=REAL_KEY, side_replies=True) as server:
        yield server


def relay_to(server: OpenAIServer, **options) -> MeteringRelay:
    options.setdefault("cost", priced)
    return MeteringRelay(server.base_url, REAL_KEY, protocol="openai-responses", **options)


def agent(relay: MeteringRelay) -> openai.OpenAI:
    """What an agent in the container holds: the relay's address and the task token, no key."""
    return openai.OpenAI(base_url=relay.url + "/v1", api_key=relay.token, max_retries=0)


def ask_responses(client: openai.OpenAI, stream: bool, model: str = "gpt-test") -> str:
    if stream:
        with client.responses.stream(model=model, input="hi", tools=[SHELL]) as events:
            return events.get_final_response().output_text
    return client.responses.create(model=model, input="hi", tools=[SHELL]).output_text


def ask_chat(client: openai.OpenAI, stream: bool, model: str = "gpt-test") -> str:
    messages = [{"role": "user", "content": "hi"}]
    if stream:  # as OpenCode streams: without asking for usage itself
        chunks = list(client.chat.completions.create(model=model, messages=messages, tools=[CHAT_SHELL], stream=True))
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return client.chat.completions.create(model=model, messages=messages, tools=[CHAT_SHELL]).choices[0].message.content


@pytest.mark.parametrize("api", ["responses", "chat"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_the_token_is_swapped_for_the_key_and_usage_with_cached_input_is_metered(upstream, api, stream):
    upstream.add(step("first", 3000, 2000, 100), step("second", 5000, 4000, 200))
    ask = ask_responses if api == "responses" else ask_chat
    with relay_to(upstream) as relay:
        assert ask(agent(relay), stream) == "first"
        assert ask(agent(relay), stream) == "second"
        usage = relay.usage
    # Cached prompt tokens are cache reads; the rest is plain input.
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.output_tokens, usage.calls) == (2000, 6000, 300, 2)
    assert usage.cost_usd == pytest.approx((2000 * 1.0 + 6000 * 0.1 + 300 * 10.0) / 1e6)
    assert [r.headers["authorization"] for r in upstream.requests] == [f"Bearer {REAL_KEY}"] * 2
    assert all(relay.token not in str(r.headers) for r in upstream.requests)
    if api == "chat" and stream:  # the relay asked for the usage chunk the agent did not ask for
        assert all(r.body["stream_options"] == {"include_usage": True} for r in upstream.requests)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_a_request_for_another_model_is_pinned_to_the_runs_model_and_priced_as_it(upstream, stream):
    upstream.add(step("ok", 1000, 0, 10))
    with relay_to(upstream, model="gpt-test") as relay:
        assert ask_responses(agent(relay), stream, model="gpt-cheap-side-model") == "ok"
    assert upstream.requests[0].body["model"] == "gpt-test"
    call = relay.calls[0]
    assert call.asked_model == "gpt-cheap-side-model" and call.usage.cost_usd == pytest.approx(1000 / 1e6 + 100 / 1e6)


def test_only_the_routes_agents_need_are_forwarded_anything_else_is_403_and_never_sent(upstream):
    with relay_to(upstream) as relay:
        client = agent(relay)
        with pytest.raises(openai.PermissionDeniedError, match="is not forwarded"):
            client.files.delete("file-abc")
        with pytest.raises(openai.PermissionDeniedError, match="POST /v1/files is not forwarded"):
            client.files.create(file=("x.jsonl", b"{}"), purpose="batch")
        with pytest.raises(openai.PermissionDeniedError):
            client.responses.retrieve("resp_123")
        assert [m.id for m in client.models.list()] == ["scripted"]  # listing models is allowed
    assert [r.path for r in upstream.requests] == ["/v1/models"]
    assert [c.status for c in relay.calls] == [403, 403, 403, 200]


def test_the_anthropic_relay_refuses_batches_and_other_endpoints():
    with MessagesServer(api_key=REAL_KEY) as upstream, MeteringRelay(upstream.url, REAL_KEY, cost=priced) as relay:
        client = anthropic.Anthropic(base_url=relay.url, api_key=relay.token, max_retries=0)
        with pytest.raises(anthropic.PermissionDeniedError, match="POST /v1/messages/batches is not forwarded"):
            client.messages.batches.create(requests=[{"custom_id": "a", "params": {
                "model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}}])
        with pytest.raises(anthropic.PermissionDeniedError):
            client.models.list()
        # An OpenAI route is not forwarded to an Anthropic upstream either.
        with pytest.raises(openai.PermissionDeniedError):
            openai.OpenAI(base_url=relay.url + "/v1", api_key=relay.token, max_retries=0).responses.create(
                model="m", input="x")
    assert upstream.requests == []


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_the_dollar_and_token_caps_refuse_further_calls_in_the_openai_error_shape(upstream, stream):
    upstream.add(*[step(f"reply {i}", 1000, 0, 1000) for i in range(4)])  # $0.011 each
    with relay_to(upstream, max_cost_usd=0.02) as relay:
        ask_chat(agent(relay), stream)
        ask_chat(agent(relay), stream)
        assert relay.budget_exceeded.is_set()
        with pytest.raises(openai.BadRequestError, match=r"budget of \$0.02 is spent") as refused:
            ask_chat(agent(relay), stream)
    assert refused.value.body["type"] == "invalid_request_error"
    assert len(upstream.requests) == 2
    with relay_to(upstream, max_tokens=1500) as relay:
        ask_responses(agent(relay), stream)
        with pytest.raises(openai.BadRequestError, match="budget of 1500 tokens is spent"):
            ask_responses(agent(relay), stream)
    assert len(upstream.requests) == 3


def test_an_unknown_price_under_a_dollar_cap_stops_the_next_call_and_is_never_counted_as_zero(upstream):
    upstream.add(step("one", 10, 0, 10), step("two", 10, 0, 10))
    with relay_to(upstream, max_cost_usd=5.0, model="gpt-unpriced") as relay:
        ask_responses(agent(relay), stream=False)
        with pytest.raises(openai.BadRequestError, match="gpt-unpriced has no price"):
            ask_responses(agent(relay), stream=False)
    assert relay.usage.cost_usd is None and relay.budget_exceeded.is_set()
    assert len(upstream.requests) == 1


def test_the_shipped_price_table_prices_the_agents_default_openai_models():
    prices = load_prices()
    for model in ("gpt-5.5", "gpt-5.4", "gpt-5.4-mini", "gpt-5.2-codex", "gpt-5.1-codex", "gpt-5-codex"):
        price = find_price(model, prices)
        assert price is not None and 0 < price.cache_read < price.input < price.output, model
    assert find_price("gpt-5.6-sol", prices) is None  # announced, cached price unpublished: unknown
    cost = price_lookup()
    assert cost("gpt-5.5", Usage(input_tokens=1_000_000, cache_read_input_tokens=1_000_000)) == pytest.approx(5.5)
    assert cost("gpt-9", Usage(input_tokens=1)) is None


def test_an_upstream_answering_529_to_every_call_is_reported_as_an_upstream_failure(upstream):
    upstream.add(*[error(529, "overloaded_error", "Overloaded", retry_after=0)] * 4, step("back", 10, 0, 1))
    with relay_to(upstream) as relay:
        client = openai.OpenAI(base_url=relay.url + "/v1", api_key=relay.token, max_retries=3)
        with pytest.raises(openai.InternalServerError):
            ask_responses(client, stream=True)
        assert relay.upstream_failure == "upstream answered 529 to 4 of 4 calls"
        assert ask_responses(client, stream=False) == "back"
        assert relay.upstream_failure is None  # the agent got through: a passing outage is not the reason


def test_an_upstream_that_does_not_answer_is_an_upstream_failure():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with MeteringRelay(f"http://127.0.0.1:{port}/v1", REAL_KEY, protocol="openai-chat") as relay:
        with pytest.raises(openai.InternalServerError, match="did not answer"):
            ask_chat(agent(relay), stream=False)
    assert relay.upstream_failure == "upstream gave no answer (ConnectionRefusedError) to 1 of 1 calls"


class _CutStream(socketserver.BaseRequestHandler):
    """An upstream that starts a streamed answer and drops the connection after its first event."""

    def handle(self) -> None:
        self.request.recv(65536)
        event = b'event: response.created\ndata: {"type": "response.created", "sequence_number": 0, ' \
                b'"response": {"id": "resp_1", "object": "response", "status": "in_progress", "output": []}}\n\n'
        self.request.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                             + b"%x\r\n%s\r\n" % (len(event), event))
        self.request.close()


def test_an_upstream_that_cuts_the_stream_is_an_upstream_failure_and_the_agent_sees_it_broken():
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _CutStream) as cutting:
        threading.Thread(target=cutting.serve_forever, daemon=True).start()
        try:
            with MeteringRelay(f"http://127.0.0.1:{cutting.server_address[1]}/v1", REAL_KEY,
                               protocol="openai-responses") as relay:
                with pytest.raises(openai.APIConnectionError):
                    list(agent(relay).responses.create(model="gpt-test", input="hi", stream=True))
        finally:
            cutting.shutdown()
    assert relay.upstream_failure == "upstream cut the stream (IncompleteRead) to 1 of 1 calls"


def test_an_unpriced_model_is_said_once_and_its_cost_stays_unknown(upstream, caplog):
    upstream.add(step("one", 10, 0, 10), step("two", 10, 0, 10))
    with caplog.at_level("WARNING"), relay_to(upstream, model="gpt-unpriced-once") as relay:
        ask_responses(agent(relay), stream=False)
        ask_responses(agent(relay), stream=True)
    warnings = [r.getMessage() for r in caplog.records if "gpt-unpriced-once" in r.getMessage()]
    assert len(warnings) == 1 and "prices.toml" in warnings[0]
    assert relay.usage.cost_usd is None and relay.usage.calls == 2
