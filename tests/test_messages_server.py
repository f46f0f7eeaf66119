"""The local Messages API server: wire protocol, scripts, errors, recording, cache accounting."""

from __future__ import annotations

import anthropic
import pytest
import requests

from corebench_runner.errors import UserError
from corebench_scripted.messages_api import MessagesServer, load_script
from support_messages import TEST_KEY, anthropic_client, error, messages_server, reply, text, tool_use, write_script  # noqa: F401

BASH = {"name": "bash", "description": "run a command", "input_schema": {"type": "object", "properties": {}}}


def post(server: MessagesServer, body: dict, key: str = TEST_KEY) -> requests.Response:
    return requests.post(f"{server.url}/v1/messages", json=body, timeout=10,
                         headers={"x-api-key": key, "anthropic-version": "2023-06-01"})


def test_the_sdk_reads_a_scripted_tool_use_and_the_server_records_the_request(messages_server):
    messages_server.add(reply(text("let me look"), tool_use("bash", command="ls -la")))
    sdk = anthropic.Anthropic(api_key=TEST_KEY, base_url=messages_server.url, max_retries=0)
    message = sdk.messages.create(model="claude-haiku-4-5", max_tokens=100, system="be brief", tools=[BASH],
                                  messages=[{"role": "user", "content": "list the files"}])
    assert message.stop_reason == "tool_use"
    assert message.content[1].type == "tool_use" and message.content[1].input == {"command": "ls -la"}
    assert message.content[1].id.startswith("toolu_")
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    recorded = messages_server.requests[0]
    assert recorded.body["messages"] == [{"role": "user", "content": "list the files"}]
    assert recorded.body["system"] == "be brief"
    assert recorded.headers["content-type"] == "application/json"


def test_an_error_step_answers_with_its_status_error_body_and_retry_after(messages_server):
    messages_server.add(error(529, "overloaded_error", "busy", retry_after=7))
    response = post(messages_server, {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 529
    assert response.headers["retry-after"] == "7"
    assert response.json() == {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}


def test_a_wrong_key_gets_401_like_the_real_api(messages_server):
    messages_server.add(reply(text("never sent")))
    response = post(messages_server, {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
                    key="wrong")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    assert messages_server.steps_left == 1


def test_a_tool_use_without_its_tool_result_is_refused_as_the_api_does(messages_server):
    messages_server.add(reply(text("unused")))
    sdk = anthropic.Anthropic(api_key=TEST_KEY, base_url=messages_server.url, max_retries=0)
    with pytest.raises(anthropic.BadRequestError, match="tool_result"):
        sdk.messages.create(model="m", max_tokens=10, messages=[
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "bash", "input": {}}]},
            {"role": "user", "content": "no result here"}])


def test_an_exhausted_script_says_so(messages_server):
    response = post(messages_server, {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 400
    assert "script is exhausted" in response.json()["error"]["message"]


def test_cached_prefixes_are_billed_as_cache_reads_on_the_next_turn(messages_server):
    messages_server.add(reply(text("one")), reply(text("two")))
    system = [{"type": "text", "text": "S" * 4000, "cache_control": {"type": "ephemeral"}}]
    first = [{"role": "user", "content": [{"type": "text", "text": "Q" * 400, "cache_control": {"type": "ephemeral"}}]}]
    body = {"model": "m", "max_tokens": 5, "system": system, "messages": first}
    usage1 = post(messages_server, body).json()["usage"]
    assert usage1["cache_read_input_tokens"] == 0 and usage1["cache_creation_input_tokens"] > 1000
    # Turn two: the old breakpoint moved on, but its prefix is still found and read.
    second = [{"role": "user", "content": [{"type": "text", "text": "Q" * 400}]},
              {"role": "assistant", "content": [{"type": "text", "text": "one"}]},
              {"role": "user", "content": [{"type": "text", "text": "more", "cache_control": {"type": "ephemeral"}}]}]
    usage2 = post(messages_server, {**body, "messages": second}).json()["usage"]
    assert usage2["cache_read_input_tokens"] == usage1["cache_creation_input_tokens"]
    assert 0 < usage2["cache_creation_input_tokens"] < 50


def test_without_cache_control_everything_is_plain_input(messages_server):
    messages_server.add(reply(text("one")), reply(text("two")))
    body = {"model": "m", "max_tokens": 5, "system": "S" * 4000, "messages": [{"role": "user", "content": "hi"}]}
    usages = [post(messages_server, body).json()["usage"] for _ in range(2)]
    assert usages[0] == usages[1]
    assert usages[1]["input_tokens"] > 1000 and usages[1]["cache_read_input_tokens"] == 0


def test_more_than_four_breakpoints_is_a_400(messages_server):
    mark = {"type": "ephemeral"}
    blocks = [{"type": "text", "text": f"b{i}", "cache_control": mark} for i in range(5)]
    response = post(messages_server, {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": blocks}]})
    assert response.status_code == 400 and "maximum of 4" in response.json()["error"]["message"]


def test_a_streamed_request_gets_the_same_reply_as_server_sent_events(messages_server):
    messages_server.add(reply(text("let me look"), tool_use("bash", command="ls")))
    sdk = anthropic.Anthropic(api_key=TEST_KEY, base_url=messages_server.url, max_retries=0)
    with sdk.messages.stream(model="claude-haiku-4-5", max_tokens=100, tools=[BASH],
                             messages=[{"role": "user", "content": "list the files"}]) as stream:
        kinds = [event.type for event in stream]
        message = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert message.content[0].text == "let me look" and message.content[1].input == {"command": "ls"}
    assert message.stop_reason == "tool_use" and message.usage.output_tokens > 0


def test_side_calls_without_tools_use_no_script_step_when_asked():
    with MessagesServer([reply(text("the agent's turn"))], side_replies=True) as server:
        side = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "a title please"}]}
        assert post(server, side).status_code == 200 and server.steps_left == 1
        turn = dict(side, tools=[BASH])
        assert post(server, turn).json()["content"][0]["text"] == "the agent's turn"
        assert len(server.side_requests) == 1 and len(server.main_requests) == 1
    with MessagesServer([reply(text("played"))]) as plain:  # by default every call plays a step
        assert post(plain, side).json()["content"][0]["text"] == "played"


def test_a_script_restarts_per_conversation_when_asked():
    with MessagesServer([reply(text("first")), reply(text("second"))], restart_per_conversation=True) as server:
        one = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "a"}]}
        assert post(server, one).json()["content"][0]["text"] == "first"
        assert post(server, one).json()["content"][0]["text"] == "first"


def test_script_files_load_and_bad_ones_name_the_file(tmp_path):
    script = load_script(write_script(tmp_path / "ok.json", [reply(text("hi"))], model="claude-haiku-4-5"))
    assert script.model == "claude-haiku-4-5" and script.steps[0]["content"][0]["text"] == "hi"
    assert not script.side_replies  # every call plays a step unless the script says otherwise
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(UserError, match="bad.json: not valid JSON"):
        load_script(tmp_path / "bad.json")
    (tmp_path / "shape.json").write_text('[{"text": "no content key"}]')
    with pytest.raises(UserError, match="each with \"content\" or \"error\""):
        load_script(tmp_path / "shape.json")
    with pytest.raises(UserError, match="no such file"):
        load_script(tmp_path / "missing.json")
