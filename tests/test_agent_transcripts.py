"""Each agent's event stream -> the transcript events the report renders and the diagnostics read.

The lines are in the shapes the real binaries print (Claude Code stream-json, `codex exec --json`,
`opencode run --format json`); the docker tests run the binaries themselves.
"""

from __future__ import annotations

import json
from pathlib import Path

from corebench_runner.agents.cli_agents.normalise import normalise
from corebench_runner.diagnostics.actions import read_actions
from corebench_runner.report.transcripts import transcript_items


def lines(*events: dict) -> str:
    return "\n".join(json.dumps(e) for e in events) + "\nnot json at all\n"


CLAUDE = lines(
    {"type": "system", "subtype": "init", "session_id": "s-1", "model": "claude-sonnet-4-6",
     "claude_code_version": "2.1.332"},
    {"type": "assistant", "message": {"content": [
        {"type": "text", "text": "Running it."},
        {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "Rscript a.R", "description": "run"}},
        {"type": "tool_use", "id": "t2", "name": "Write", "input": {"file_path": "/workspace/report.json",
                                                                    "content": "{}"}}]}},
    {"type": "user", "message": {"content": [
        {"type": "tool_result", "tool_use_id": "t1", "content": "Error: no package", "is_error": True},
        {"type": "tool_result", "tool_use_id": "t2", "content": [{"type": "text", "text": "written"}]}]}},
    {"type": "rate_limit_event", "info": {"status": "allowed"}},
    {"type": "result", "subtype": "success", "num_turns": 2, "session_id": "s-1", "result": "Done.",
     "total_cost_usd": 0.25})

CODEX = lines(
    {"type": "thread.started", "thread_id": "th-9"},
    {"type": "turn.started"},
    {"type": "item.completed", "item": {"id": "i0", "type": "reasoning", "text": "Think first."}},
    {"type": "item.started", "item": {"id": "i1", "type": "command_execution", "command": "bash -lc ls",
                                      "aggregated_output": "", "exit_code": None, "status": "in_progress"}},
    {"type": "item.completed", "item": {"id": "i1", "type": "command_execution", "command": "bash -lc ls",
                                        "aggregated_output": "code\ndata\n", "exit_code": 0, "status": "completed"}},
    {"type": "item.completed", "item": {"id": "i2", "type": "file_change", "status": "completed",
                                        "changes": [{"path": "/workspace/report.json", "kind": "add"}]}},
    {"type": "item.started", "item": {"id": "i3", "type": "command_execution", "command": "sleep 999",
                                      "aggregated_output": "", "exit_code": None, "status": "in_progress"}},
    {"type": "item.completed", "item": {"id": "i4", "type": "agent_message", "text": "All <done>."}},
    {"type": "turn.completed", "usage": {"input_tokens": 10, "cached_input_tokens": 0, "output_tokens": 2}})

OPENCODE = lines(
    {"type": "step_start", "sessionID": "ses_7", "part": {"type": "step-start"}},
    {"type": "text", "sessionID": "ses_7", "part": {"type": "text", "text": "Looking."}},
    {"type": "tool_use", "sessionID": "ses_7", "part": {"type": "tool", "tool": "bash", "state": {
        "status": "completed", "input": {"command": "python3 x.py", "description": "d"}, "output": "boom",
        "metadata": {"exit": 2}}}},
    {"type": "tool_use", "sessionID": "ses_7", "part": {"type": "tool", "tool": "edit", "state": {
        "status": "error", "input": {"filePath": "/workspace/x.py", "oldString": "a", "newString": "b"},
        "error": "oldString not found"}}},
    {"type": "step_finish", "sessionID": "ses_7", "part": {"type": "step-finish", "reason": "tool-calls"}},
    {"type": "error", "sessionID": "ses_7", "error": {"name": "APIError", "data": {"message": "rate limited"}}})


def test_claude_code_stream_becomes_messages_tool_calls_with_results_and_a_final_note():
    stream = normalise("claude-code", CLAUDE)
    assert stream.session_id == "s-1" and stream.turns == 2 and stream.final_text == "Done."
    kinds = [e["type"] for e in stream.events]
    assert kinds == ["note", "message", "tool_call", "tool_call", "agent_event", "note", "output"]
    bash, write = [e for e in stream.events if e["type"] == "tool_call"]
    assert bash["output"] == "Error: no package" and bash["is_error"] and bash["action"]["exit_code"] == 1
    assert write["output"] == "written" and write["action"] == {
        "kind": "write", "path": "/workspace/report.json", "failed": False, "written": "{}", "replaced": ""}
    assert stream.events[-2]["agent_cost_usd"] == 0.25


def test_codex_stream_keeps_finished_items_and_an_unfinished_command():
    stream = normalise("codex", CODEX)
    assert stream.session_id == "th-9" and stream.turns == 1 and stream.final_text == "All <done>."
    calls = [e for e in stream.events if e["type"] == "tool_call"]
    assert [(c["name"], c["output"], c.get("exit_code")) for c in calls] == [
        ("shell", "code\ndata\n", 0), ("apply_patch", "completed", None), ("shell", "", None)]
    assert calls[1]["action"]["kind"] == "write" and calls[1]["action"]["path"] == "/workspace/report.json"
    assert {"type": "note", "text": "Think first.", "label": "reasoning"} in stream.events


def test_opencode_stream_reads_exit_codes_errors_and_the_session():
    stream = normalise("opencode", OPENCODE)
    assert stream.session_id == "ses_7" and stream.turns == 1 and stream.final_text == "rate limited"
    bash, edit = [e for e in stream.events if e["type"] == "tool_call"]
    assert bash["exit_code"] == 2 and bash["is_error"] and bash["action"]["command"] == "python3 x.py"
    assert edit["is_error"] and edit["output"] == "oldString not found"
    assert edit["action"]["kind"] == "edit" and edit["action"]["replaced"] == "a"


def test_diagnostics_read_every_agents_actions():
    actions = {agent: read_actions(normalise(agent, text).events)
               for agent, text in (("claude-code", CLAUDE), ("codex", CODEX), ("opencode", OPENCODE))}
    assert [(a.kind, a.exit_code) for a in actions["claude-code"]] == [("command", 1), ("write", None)]
    assert [a.describe for a in actions["codex"]] == ["bash -lc ls", "write /workspace/report.json", "sleep 999"]
    assert [(a.kind, a.exit_code, a.failed) for a in actions["opencode"]] == [("command", 2, False),
                                                                             ("edit", None, True)]


def test_the_report_shows_messages_commands_and_relay_calls_as_text(tmp_path: Path):
    events = normalise("codex", CODEX).events + [
        {"type": "model_call", "method": "POST", "path": "/v1/responses", "status": 200, "model": "gpt-5",
         "usage": {"input_tokens": 1200, "output_tokens": 80, "cost_usd": 0.0123}, "refused": ""}]
    items = transcript_items(events, tmp_path, "t", "img")
    shell = next(i for i in items if i["kind"] == "tool_call")
    assert shell["input"] == "bash -lc ls" and shell["output"] == "code\ndata\n"
    said = [i for i in items if i["kind"] == "note" and i["label"] == "assistant"]
    assert said[0]["text"] == "All <done>."  # plain text: the template escapes it
    call = items[-1]
    assert call["usage"] == "1,200 in / 80 out tokens, $0.0123"
    assert call["blocks"][0]["text"] == "POST /v1/responses -> 200 gpt-5"
