"""The local OpenAI server: the Responses API and Chat Completions through the real openai SDK."""

from __future__ import annotations

import json

import openai
import pytest

from corebench_runner.errors import UserError
from corebench_scripted.messages_api import load_script
from corebench_scripted.openai_api import OpenAIServer
from support_messages import error, reply, text, tool_use

KEY = "sk-openai-test-local-only"
SHELL = {"type": "function", "name": "shell", "description": "run a command",
         "parameters": {"type": "object", "properties": {"command": {"type": "array", "items": {"type": "string"}}}}}
CHAT_SHELL = {"type": "function", "function": {k: v for k, v in SHELL.items() if k != "type"}}


def custom_tool_use(name: str, value: str) -> dict:
    return {"type": "custom_tool_use", "name": name, "input": value}


@pytest.fixture
def server():
    with OpenAIServer(api_key=KEY, model="gpt-test") as running:
        yield running


def sdk(server: OpenAIServer, retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(api_key=KEY, base_url=server.base_url, max_retries=retries)


def test_responses_plays_text_and_a_function_call_with_the_scripted_usage(server):
    server.add(reply(text("Let me look."), tool_use("shell", command=["ls", "-la"]),
                     usage={"input_tokens": 1200, "cached_tokens": 1000, "output_tokens": 40}))
    response = sdk(server).responses.create(model="gpt-test", instructions="be brief", input="list the files",
                                            tools=[SHELL], store=False)
    message, call = response.output
    assert response.output_text == "Let me look."
    assert call.type == "function_call" and call.name == "shell"
    assert json.loads(call.arguments) == {"command": ["ls", "-la"]} and call.call_id.startswith("call_")
    assert (response.usage.input_tokens, response.usage.input_tokens_details.cached_tokens,
            response.usage.output_tokens) == (1200, 1000, 40)
    assert server.requests[0].body["instructions"] == "be brief"
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_responses_streams_the_real_event_sequence_with_usage_in_response_completed(server):
    server.add(reply(text("Patching."), custom_tool_use("apply_patch", "*** Begin Patch\n*** End Patch"),
                     tool_use("shell", command=["make"]), usage={"input_tokens": 500, "output_tokens": 30}))
    with sdk(server).responses.stream(model="gpt-test", input="fix it", tools=[SHELL]) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    assert {"response.output_text.delta", "response.function_call_arguments.delta",
            "response.custom_tool_call_input.delta", "response.output_item.done"} <= set(kinds)
    assert [item.type for item in final.output] == ["message", "custom_tool_call", "function_call"]
    assert final.output[1].input == "*** Begin Patch\n*** End Patch"
    assert json.loads(final.output[2].arguments) == {"command": ["make"]}
    assert (final.usage.input_tokens, final.usage.output_tokens) == (500, 30)


def test_responses_bills_a_repeated_prefix_as_cached_input(server):
    server.add(reply(tool_use("shell", command=["ls"])), reply(text("done")))
    client = sdk(server)
    first_input = [{"role": "user", "content": "x" * 8000}]
    first = client.responses.create(model="gpt-test", instructions="i" * 4000, input=first_input, tools=[SHELL])
    assert first.usage.input_tokens_details.cached_tokens == 0
    call = first.output[0]
    second = client.responses.create(model="gpt-test", instructions="i" * 4000, tools=[SHELL], input=[
        *first_input, {"type": "function_call", "call_id": call.call_id, "name": "shell", "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "a.txt"}])
    cached = second.usage.input_tokens_details.cached_tokens
    assert cached >= 3000 and cached < second.usage.input_tokens


def test_a_function_call_output_without_its_call_is_refused_as_the_api_does(server):
    server.add(reply(text("unused")))
    with pytest.raises(openai.BadRequestError, match="No tool call found"):
        sdk(server).responses.create(model="gpt-test", input=[
            {"type": "function_call_output", "call_id": "call_missing", "output": "x"}])
    assert server.steps_left == 1


def test_chat_completions_plays_tool_calls_and_reports_cached_prompt_tokens(server):
    server.add(reply(text("Looking."), tool_use("shell", command=["pwd"]),
                     usage={"input_tokens": 900, "cached_tokens": 600, "output_tokens": 12}))
    completion = sdk(server).chat.completions.create(model="gpt-test", tools=[CHAT_SHELL],
                                                     messages=[{"role": "user", "content": "where am I"}])
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content == "Looking."
    call = choice.message.tool_calls[0]
    assert call.function.name == "shell" and json.loads(call.function.arguments) == {"command": ["pwd"]}
    assert (completion.usage.prompt_tokens, completion.usage.prompt_tokens_details.cached_tokens,
            completion.usage.completion_tokens) == (900, 600, 12)


def test_chat_streams_chunks_and_a_usage_chunk_only_when_asked(server):
    server.add(reply(tool_use("shell", command=["ls"]), usage={"input_tokens": 70, "output_tokens": 7}),
               reply(text("all done"), usage={"input_tokens": 80, "output_tokens": 8}))
    client = sdk(server)
    with client.chat.completions.stream(model="gpt-test", tools=[CHAT_SHELL], stream_options={"include_usage": True},
                                        messages=[{"role": "user", "content": "go"}]) as stream:
        chunks = [event.chunk for event in stream if event.type == "chunk"]
        final = stream.get_final_completion()
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 70
    call = final.choices[0].message.tool_calls[0]
    assert call.function.name == "shell" and json.loads(call.function.arguments) == {"command": ["ls"]}
    plain = list(client.chat.completions.create(model="gpt-test", stream=True, tools=[CHAT_SHELL], messages=[
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump(include={"id", "type", "function"})]},
        {"role": "tool", "tool_call_id": call.id, "content": "a.txt"}]))
    assert "".join(c.choices[0].delta.content or "" for c in plain) == "all done"
    assert all(c.usage is None for c in plain) and plain[-1].choices[0].finish_reason == "stop"


def test_chat_refuses_tool_calls_left_without_their_tool_messages(server):
    server.add(reply(text("unused")))
    with pytest.raises(openai.BadRequestError, match="did not have response messages"):
        sdk(server).chat.completions.create(model="gpt-test", messages=[
            {"role": "user", "content": "go"},
            {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
                                                  "function": {"name": "shell", "arguments": "{}"}}]},
            {"role": "user", "content": "no tool answer"}])


def test_errors_carry_their_status_retry_after_and_openai_error_body(server):
    server.add(error(529, "overloaded_error", "busy", retry_after=0), reply(text("recovered")))
    with pytest.raises(openai.InternalServerError) as failure:
        sdk(server).responses.create(model="gpt-test", input="hi")
    assert failure.value.status_code == 529 and failure.value.response.headers["retry-after"] == "0"
    assert failure.value.body == {"message": "busy", "type": "overloaded_error", "param": None, "code": None}
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(api_key="wrong", base_url=server.base_url, max_retries=0).responses.create(
            model="gpt-test", input="hi")
    assert sdk(server, retries=0).responses.create(model="gpt-test", input="hi").output_text == "recovered"


def test_the_sdk_retries_a_scripted_outage_and_lists_the_model(server):
    server.add(error(503, "server_error", retry_after=0), reply(text("after a retry")))
    assert sdk(server, retries=2).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}]).choices[0].message.content == "after a retry"
    assert [m.id for m in sdk(server).models.list()] == ["gpt-test"]


def test_side_calls_use_no_step_and_a_new_conversation_restarts_the_script():
    with OpenAIServer([reply(text("first step")), reply(text("second step"))], api_key=KEY,
                      restart_per_conversation=True, side_replies=True) as server:
        client = sdk(server)
        ask = dict(model="gpt-test", tools=[SHELL])
        assert client.responses.create(input="a title please", model="gpt-test").output_text == "Task"
        assert client.responses.create(input="task one", **ask).output_text == "first step"
        assert client.responses.create(input="task two", **ask).output_text == "first step"
        assert len(server.side_requests) == 1 and len(server.main_requests) == 2


def test_a_script_file_names_its_protocol(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"protocol": "openai-responses", "model": "gpt-5", "steps": [reply(text("hi"))]}))
    script = load_script(path)
    assert (script.protocol, script.model) == ("openai-responses", "gpt-5")
    path.write_text(json.dumps({"steps": [reply(text("hi"))]}))
    assert load_script(path).protocol == "anthropic-messages"
    path.write_text(json.dumps({"protocol": "grpc", "steps": [reply(text("hi"))]}))
    with pytest.raises(UserError, match="protocol"):
        load_script(path)
