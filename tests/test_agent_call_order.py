"""Agent-CLI transcripts: the relay's model calls sit before the turns they caused, with real times."""

from __future__ import annotations

import json

from corebench_runner.agents.cli_agents.normalise import normalise
from corebench_runner.agents.cli_agents.session import _call_event, with_model_calls
from corebench_runner.agents.relay.server import RelayCall


def lines(*events: dict) -> str:
    return "\n".join(json.dumps(e) for e in events) + "\n"


CLAUDE_TWO_TURNS = lines(
    {"type": "system", "subtype": "init", "session_id": "s-1", "model": "m", "claude_code_version": "2"},
    {"type": "assistant", "message": {"id": "msg_1", "content": [{"type": "text", "text": "Running it."}]}},
    {"type": "assistant", "message": {"id": "msg_1", "content": [
        {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "Rscript a.R"}}]}},
    {"type": "user", "message": {"content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]}},
    {"type": "assistant", "message": {"id": "msg_2", "content": [{"type": "text", "text": "Done."}]}},
    {"type": "result", "subtype": "success", "num_turns": 2, "session_id": "s-1", "result": "Done."})

OPENCODE_TWO_STEPS = lines(
    {"type": "step_start", "sessionID": "x", "part": {"type": "step-start"}},
    {"type": "tool_use", "sessionID": "x", "part": {"type": "tool", "tool": "bash", "state": {
        "status": "completed", "input": {"command": "python3 x.py"}, "output": "1", "metadata": {"exit": 0}}}},
    {"type": "step_finish", "sessionID": "x", "part": {"type": "step-finish"}},
    {"type": "step_start", "sessionID": "x", "part": {"type": "step-start"}},
    {"type": "text", "sessionID": "x", "part": {"type": "text", "text": "Finished."}},
    {"type": "step_finish", "sessionID": "x", "part": {"type": "step-finish"}})


def call(started: float, seconds: float, status: int = 200, refused: str = "") -> dict:
    relayed = RelayCall("POST", "/v1/messages", status, model="m", seconds=seconds, refused=refused, started=started)
    return _call_event(relayed, origin=100.0)


def test_claude_code_calls_come_before_their_turns_and_each_event_takes_its_calls_end_time():
    stream = normalise("claude-code", CLAUDE_TWO_TURNS)
    events = with_model_calls(stream, [call(101.0, 2.5), call(110.0, 1.25)])
    kinds = [(e["type"], e.get("text") or e.get("name") or "") for e in events]
    assert [k for k, _ in kinds] == ["note", "model_call", "message", "tool_call", "model_call", "message", "note"]
    first, second = (e for e in events if e["type"] == "model_call")
    assert (first["t"], second["t"]) == (1.0, 10.0)  # seconds from the task's start, not 0
    assert "started" not in first
    by_text = {e.get("text"): e for e in events if e["type"] == "message"}
    assert by_text["Running it."]["t"] == 3.5 and by_text["Done."]["t"] == 11.25
    assert next(e for e in events if e["type"] == "tool_call")["t"] == 3.5


def test_opencode_steps_and_a_refused_call_go_before_the_next_answered_one():
    stream = normalise("opencode", OPENCODE_TWO_STEPS)
    refused = call(104.0, 0.0, status=400, refused="over the task's budget")
    events = with_model_calls(stream, [call(101.0, 1.0), refused, call(105.0, 2.0)])
    kinds = [e["type"] for e in events]
    assert kinds == ["model_call", "tool_call", "model_call", "model_call", "message"]
    assert events[2]["refused"] and events[3]["t"] == 5.0 and events[4]["t"] == 7.0


def test_when_the_calls_do_not_match_the_turns_nothing_is_guessed():
    stream = normalise("claude-code", CLAUDE_TWO_TURNS)
    calls = [call(101.0, 1.0), call(102.0, 1.0), call(103.0, 1.0)]  # a call the stream does not show
    events = with_model_calls(stream, calls)
    assert events[:len(stream.events)] == stream.events and events[len(stream.events):] == calls
    assert [c["t"] for c in calls] == [1.0, 2.0, 3.0]
    codex = normalise("codex", lines({"type": "thread.started", "thread_id": "t"}))
    assert with_model_calls(codex, calls)[-3:] == calls  # Codex shows no calls: they follow its stream


CODEX_TWO_CALLS = lines(
    {"type": "thread.started", "thread_id": "th-1"},
    {"type": "turn.started"},
    {"type": "item.completed", "item": {"id": "i1", "type": "agent_message", "text": "Running it."}},
    {"type": "item.started", "item": {"id": "i2", "type": "command_execution", "command": "python3 a.py"}},
    {"type": "item.completed", "item": {"id": "i2", "type": "command_execution", "command": "python3 a.py",
                                        "aggregated_output": "1.5\n", "exit_code": 0, "status": "completed"}},
    {"type": "item.completed", "item": {"id": "i3", "type": "agent_message", "text": "Done."}},
    {"type": "turn.completed", "usage": {}})


def test_each_event_takes_the_time_its_line_was_read():
    read_at = [0.5, 0.6, 3.1, 3.2, 7.9, 12.0, 12.1]  # one time per line of the stream
    stream = normalise("codex", CODEX_TWO_CALLS, read_at)
    assert [(e["type"], e["t"]) for e in stream.events] == [
        ("note", 0.5), ("message", 3.1), ("tool_call", 7.9), ("message", 12.0)]
    claude = normalise("claude-code", CLAUDE_TWO_TURNS, [0.2, 1.0, 1.1, 4.0, 9.0, 9.5])
    tool = next(e for e in claude.events if e["type"] == "tool_call")
    assert tool["t"] == 1.1 and tool["output"] == "ok"  # the call's time, though its result came later


def test_codex_calls_go_between_the_turns_they_caused_by_the_times_the_lines_were_read():
    stream = normalise("codex", CODEX_TWO_CALLS, [0.5, 0.6, 3.1, 3.2, 7.9, 12.0, 12.1])
    # The relay lists calls as they end; the second started 8.0 s into the task, after the command's line.
    calls = [call(101.0, 2.0), call(108.0, 3.5)]
    events = with_model_calls(stream, calls)
    assert [(e["type"], e.get("text") or e.get("name") or "") for e in events] == [
        ("note", "Codex started thread th-1"), ("model_call", ""), ("message", "Running it."), ("tool_call", "shell"),
        ("model_call", ""), ("message", "Done.")]
    assert [e["t"] for e in events] == [0.5, 1.0, 3.1, 7.9, 8.0, 12.0]


def test_a_line_read_just_after_a_call_started_was_printed_before_it():
    """The pipe from the container lags the relay: a line read within a moment of a call's start (and
    before the call could have answered) belongs before that call."""
    stream = normalise("codex", CODEX_TWO_CALLS, [0.5, 0.6, 3.1, 3.2, 8.1, 12.0, 12.1])
    events = with_model_calls(stream, [call(101.0, 2.0), call(108.0, 3.5)])
    kinds = [e["type"] for e in events]
    assert kinds == ["note", "model_call", "message", "tool_call", "model_call", "message"]
    quick = with_model_calls(normalise("codex", CODEX_TWO_CALLS, [0.5, 0.6, 3.1, 3.2, 8.1, 12.0, 12.1]),
                             [call(101.0, 2.0), call(108.0, 0.05)])  # a call answered in 50 ms
    assert [e["type"] for e in quick] == ["note", "model_call", "message", "model_call", "tool_call", "message"]
