"""Model clients through their real SDKs over HTTP: keys, retries, caching, usage and cost."""

from __future__ import annotations

import json
import logging
import time

import pytest

from corebench_runner.errors import UserError
from corebench_runner.models import pricing
from corebench_runner.models.anthropic_client import AnthropicClient
from corebench_runner.models.errors import ModelUnavailable
from corebench_runner.models.factory import make_model
from corebench_runner.models.openai_client import OpenAIClient
from corebench_runner.records import Usage
from support_messages import (  # noqa: F401
    PRICED_MODEL,
    TEST_KEY,
    anthropic_client,
    error,
    messages_server,
    reply,
    text,
    tool_use,
    write_script,
)

BASH = {"name": "bash", "description": "run a command",
        "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}
HELLO = [{"role": "user", "content": "hello"}]


# --- specs and keys ---------------------------------------------------------------------------

def test_a_missing_anthropic_key_is_one_clear_line(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(UserError) as caught:
        make_model("anthropic:claude-haiku-4-5")
    assert "ANTHROPIC_API_KEY is not set" in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_openai_key_is_one_clear_line_unless_a_local_server_is_named(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(UserError, match="OPENAI_API_KEY is not set"):
        make_model("openai:gpt-4o")
    assert make_model("openai:my-local-model", base_url="http://127.0.0.1:9/v1").name == "openai:my-local-model"


@pytest.mark.parametrize("spec", ["claude-haiku-4-5", "gemini:pro", "anthropic:", "scripted:  "])
def test_a_bad_model_spec_names_the_flag(spec):
    with pytest.raises(UserError, match="--model"):
        make_model(spec)


def test_a_rejected_key_is_a_user_error(messages_server):
    client = AnthropicClient(PRICED_MODEL, api_key="wrong-key", base_url=messages_server.url)
    with pytest.raises(UserError, match="rejected the key"):
        client.complete("", HELLO)


def test_the_client_honours_anthropic_base_url_like_the_sdk(messages_server, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_BASE_URL", messages_server.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
    messages_server.add(reply(text("from the env url")))
    response = make_model(f"anthropic:{PRICED_MODEL}").complete("", HELLO)
    assert response.content == [{"type": "text", "text": "from the env url"}]


# --- retries ----------------------------------------------------------------------------------

def test_429_529_and_500_are_retried_honouring_retry_after(messages_server):
    messages_server.add(error(429, "rate_limit_error", retry_after=1), error(529, "overloaded_error"),
                        error(500, "api_error"), reply(text("finally")))
    started = time.monotonic()
    response = anthropic_client(messages_server).complete("", HELLO)
    assert response.content[0]["text"] == "finally"
    assert time.monotonic() - started >= 1.0  # waited as the 429 asked
    retry_counts = [r.headers.get("x-stainless-retry-count") for r in messages_server.requests]
    assert retry_counts == ["0", "1", "2", "3"]


def test_retries_that_run_out_raise_model_unavailable_with_the_status(messages_server):
    messages_server.add(*[error(529, "overloaded_error", "Overloaded", retry_after=0)] * 3)
    with pytest.raises(ModelUnavailable, match="529.*overloaded_error: Overloaded"):
        anthropic_client(messages_server, max_retries=2).complete("", HELLO)
    assert len(messages_server.requests) == 3


def test_an_unreachable_api_raises_model_unavailable():
    client = AnthropicClient(PRICED_MODEL, api_key=TEST_KEY, base_url="http://127.0.0.1:9", max_retries=1)
    with pytest.raises(ModelUnavailable, match="cannot reach"):
        client.complete("", HELLO)


# --- prompt caching, usage and cost -----------------------------------------------------------

def test_cache_breakpoints_go_on_tools_system_and_the_last_block_without_touching_the_callers_data(messages_server):
    messages_server.add(reply(text("ok")))
    messages = [{"role": "user", "content": "first"}, {"role": "assistant", "content": [text("a")]},
                {"role": "user", "content": [text("second")]}]
    before = json.dumps(messages)
    anthropic_client(messages_server).complete("you are careful", messages, [BASH, {**BASH, "name": "other"}])
    assert json.dumps(messages) == before
    body = messages_server.requests[0].body
    assert body["system"] == [{"type": "text", "text": "you are careful", "cache_control": {"type": "ephemeral"}}]
    assert "cache_control" not in body["tools"][0] and body["tools"][1]["cache_control"] == {"type": "ephemeral"}
    assert body["messages"][2]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in json.dumps(body["messages"][:2])


def test_usage_and_cost_come_from_the_reply_and_the_price_table(messages_server):
    messages_server.add(reply(text("ok"), usage={"input_tokens": 1000, "output_tokens": 2000,
                                                 "cache_creation_input_tokens": 3000,
                                                 "cache_read_input_tokens": 4000}))
    usage = anthropic_client(messages_server, model="claude-haiku-4-5-20251001").complete("", HELLO).usage
    assert (usage.input_tokens, usage.output_tokens, usage.cache_creation_input_tokens,
            usage.cache_read_input_tokens, usage.calls) == (1000, 2000, 3000, 4000, 1)
    # haiku 4.5 at $1 / $5 / $1.25 / $0.10 per MTok (the dated name falls back to its family)
    assert usage.cost_usd == pytest.approx((1000 * 1 + 2000 * 5 + 3000 * 1.25 + 4000 * 0.10) / 1e6)


def test_an_unpriced_model_costs_unknown_with_one_warning(messages_server, caplog):
    messages_server.add(reply(text("a")), reply(text("b")))
    client = anthropic_client(messages_server, model="claude-unpriced-test-model")
    with caplog.at_level(logging.WARNING):
        usages = [client.complete("", HELLO).usage for _ in range(2)]
    assert [u.cost_usd for u in usages] == [None, None]
    warnings = [r for r in caplog.records if "claude-unpriced-test-model" in r.getMessage()]
    assert len(warnings) == 1 and "recorded as unknown" in warnings[0].getMessage()
    total = Usage()
    total.add(usages[0])
    assert total.cost_usd is None


def test_a_user_price_file_adds_models_and_a_broken_one_is_named(tmp_path, monkeypatch):
    mine = tmp_path / "prices.toml"
    mine.write_text('[models."my-finetune"]\ninput = 2.0\noutput = 4.0\ncache_write = 2.5\ncache_read = 0.2\n')
    monkeypatch.setenv("COREBENCH_PRICES", str(mine))
    prices = pricing.load_prices()
    assert prices["my-finetune"].cost(Usage(input_tokens=1_000_000, output_tokens=500_000)) == pytest.approx(4.0)
    assert "claude-haiku-4-5" in prices  # the bundled table is still there
    mine.write_text('[models."my-finetune"]\ninput = "cheap"\n')
    with pytest.raises(UserError, match=f"{mine}.*needs numbers"):
        pricing.load_prices()
    monkeypatch.setenv("COREBENCH_PRICES", str(tmp_path / "absent.toml"))
    with pytest.raises(UserError, match="COREBENCH_PRICES.*does not exist"):
        pricing.load_prices()


def test_price_lookup_prefers_the_longest_family_name():
    prices = pricing.load_prices(user_file=pricing.Path("/nonexistent"))
    assert pricing.find_price("openai:gpt-4o-mini-2024-07-18", prices) == prices["gpt-4o-mini"]
    assert pricing.find_price("anthropic:claude-opus-4-1-20250805", prices) == prices["claude-opus-4-1"]
    assert pricing.find_price("claude-opusx", prices) is None
    # A newer version is not its family's older model: opus 4.6 costs a third of opus 4.
    assert pricing.find_price("anthropic:claude-opus-4-6", prices).input == 5.00
    assert pricing.find_price("claude-opus-4-9", prices) is None
    assert pricing.find_price("claude-sonnet-4-5-latest", prices) == prices["claude-sonnet-4-5"]


# --- scripted:FILE ----------------------------------------------------------------------------

def test_scripted_file_plays_through_the_real_sdk_with_no_key(tmp_path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    script = write_script(tmp_path / "s.json", [reply(tool_use("bash", command="echo hi")), reply(text("bye"))])
    client = make_model(f"scripted:{script}")
    try:
        first = client.complete("sys", HELLO, [BASH])
        assert first.content[0]["name"] == "bash" and first.usage.cost_usd == 0.0
        conversation = HELLO + [{"role": "assistant", "content": first.content},
                                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": first.content[0]["id"],
                                                              "content": "hi"}]}]
        assert client.complete("sys", conversation, [BASH]).content == [{"type": "text", "text": "bye"}]
    finally:
        client.close()
    with pytest.raises(UserError, match="no such file"):
        make_model(f"scripted:{tmp_path / 'missing.json'}")


# --- OpenAI-compatible ------------------------------------------------------------------------

def test_openai_client_translates_tools_results_and_images_and_maps_cached_usage(monkeypatch):
    from corebench_scripted.openai_api import OpenAIServer

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    usage = {"input_tokens": 1200, "cached_tokens": 1000, "output_tokens": 30}
    with OpenAIServer([reply(tool_use("bash", command="ls"), usage=usage), reply(text("done"), usage=usage)]) as server:
        client = OpenAIClient("gpt-4o-mini", base_url=server.base_url)  # a local server: Chat Completions
        first = client.complete("sys", HELLO, [BASH])
        assert first.stop_reason == "tool_use"
        call_id = first.content[0]["id"]
        assert first.content == [{"type": "tool_use", "id": call_id, "name": "bash", "input": {"command": "ls"}}]
        assert (first.usage.input_tokens, first.usage.cache_read_input_tokens, first.usage.output_tokens) == \
            (200, 1000, 30)
        assert first.usage.cost_usd == pytest.approx((200 * 0.15 + 1000 * 0.075 + 30 * 0.6) / 1e6)
        image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
        conversation = HELLO + [{"role": "assistant", "content": first.content}, {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call_id, "content": [text("a.png"), image]}]}]
        second = client.complete("sys", conversation, [BASH])
        sent = server.requests[1]
    assert second.content == [{"type": "text", "text": "done"}] and second.stop_reason == "end_turn"
    assert sent.path == "/v1/chat/completions" and sent.body["max_tokens"] == 4096
    sent = sent.body
    assert sent["tools"][0]["function"]["name"] == "bash"
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "tool", "user"]
    assert sent["messages"][2]["tool_calls"][0]["function"]["arguments"] == "{\"command\": \"ls\"}"
    assert sent["messages"][3] == {"role": "tool", "tool_call_id": call_id, "content": "a.png"}
    assert sent["messages"][4]["content"][0]["image_url"]["url"] == "data:image/png;base64,iVBORw0KGgo="


def test_openai_models_use_the_responses_api_unless_a_local_server_is_named(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    official = make_model("openai:gpt-5.5")
    local = make_model("openai:my-model", base_url="http://127.0.0.1:9/v1")
    try:
        assert (official.protocol, local.protocol) == ("openai-responses", "openai-chat")
        assert official.base_url == "https://api.openai.com/v1"
    finally:
        official.close()
        local.close()
