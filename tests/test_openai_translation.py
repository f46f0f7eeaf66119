"""The OpenAI client's two translations (Responses API, Chat Completions) of one conversation, as the
API receives them and as the client reads the answer back: through the real openai SDK to the local
OpenAI server."""

from __future__ import annotations

import pytest

from corebench_runner.models.openai_client import OpenAIClient
from corebench_scripted.openai_api import OpenAIServer
from support_messages import reply, text, tool_use

KEY = "sk-openai-test-local-only"
PNG = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
DATA_URL = "data:image/png;base64,iVBORw0KGgo="
VIEW = {"name": "view_image", "description": "look at an image", "input_schema": {"type": "object"}}
CONVERSATION = [
    {"role": "user", "content": "Look at the figure."},
    {"role": "assistant", "content": [text("Viewing it."), {"type": "tool_use", "id": "call_1", "name": "view_image",
                                                            "input": {"path": "a.png"}}]},
    {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "call_1", "content": [text("a.png, 1 KB"), PNG]},
        text("What do you see?")]},
]


def assert_read_back(response) -> None:
    """Both APIs' answers come back as the same Messages-shaped reply, cached input apart."""
    assert response.content[0] == {"type": "text", "text": "A scatter plot."}
    assert response.content[1]["type"] == "tool_use" and response.content[1]["input"] == {"command": "ls"}
    assert response.stop_reason == "tool_use"
    usage = response.usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.output_tokens) == (200, 1000, 40)


@pytest.fixture
def server():
    with OpenAIServer(api_key=KEY, model="gpt-test") as running:
        yield running


def test_the_responses_api_gets_tool_outputs_then_the_images_they_carried_in_a_user_message(server):
    server.add(reply(text("A scatter plot."), tool_use("bash", command="ls"),
                     usage={"input_tokens": 1200, "cached_tokens": 1000, "output_tokens": 40}))
    client = OpenAIClient("gpt-test", api_key=KEY, base_url=server.base_url, api="responses", max_retries=0)
    response = client.complete("Be brief.", CONVERSATION, tools=[VIEW], max_tokens=100)
    body = server.requests[0].body
    assert body["instructions"] == "Be brief." and body["max_output_tokens"] == 100
    assert body["tools"] == [{"type": "function", "name": "view_image", "description": "look at an image",
                              "parameters": {"type": "object"}, "strict": False}]
    assert body["input"] == [
        {"role": "user", "content": [{"type": "input_text", "text": "Look at the figure."}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Viewing it."}]},
        {"type": "function_call", "call_id": "call_1", "name": "view_image", "arguments": '{"path": "a.png"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "a.png, 1 KB"},
        {"role": "user", "content": [{"type": "input_image", "image_url": DATA_URL, "detail": "auto"},
                                     {"type": "input_text", "text": "What do you see?"}]},
    ]
    assert_read_back(response)


def test_chat_completions_gets_tool_messages_then_the_images_they_carried_in_a_user_message(server):
    server.add(reply(text("A scatter plot."), tool_use("bash", command="ls"),
                     usage={"input_tokens": 1200, "cached_tokens": 1000, "output_tokens": 40}))
    client = OpenAIClient("gpt-test", api_key=KEY, base_url=server.base_url, api="chat", max_retries=0)
    response = client.complete("Be brief.", CONVERSATION, tools=[VIEW], max_tokens=100)
    body = server.requests[0].body
    assert body["max_tokens"] == 100  # a --base-url server: the older name local servers know
    assert body["tools"] == [{"type": "function", "function": {
        "name": "view_image", "description": "look at an image", "parameters": {"type": "object"}}}]
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Look at the figure."}]},
        {"role": "assistant", "content": "Viewing it.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "view_image", "arguments": '{"path": "a.png"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "a.png, 1 KB"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": DATA_URL}},
                                     {"type": "text", "text": "What do you see?"}]},
    ]
    assert_read_back(response)
