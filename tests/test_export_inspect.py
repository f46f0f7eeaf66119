"""`corebench export --format inspect` (an Inspect eval log, read back with inspect_ai's own reader)
and `--format parquet` (one row per question, read back with pandas)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.report.export_inspect import question_scorer_names
from corebench_runner.store.database import open_store
from corebench_runner.store.results import run_summary, task_details
from support_fleet import build_fleet_store
from support_store import QA, SampleTask, add_run

log_api = pytest.importorskip("inspect_ai.log", reason="pip install -e '.[test]' installs inspect_ai")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    fleet = build_fleet_store(tmp_path_factory.mktemp("export-fleet") / "results.sqlite")
    yield fleet
    fleet.store.close()


def export(store_path, *args: str):
    return CliRunner().invoke(main, ["export", "--store", str(store_path), *args])


def test_an_inspect_log_holds_one_sample_per_task_with_messages_tool_calls_scores_and_usage(fleet, tmp_path):
    run_id = fleet.repeated_run_ids[0]
    out = tmp_path / "run.eval"
    result = export(fleet.store.path, "--format", "inspect", run_id, "--out", str(out))
    assert result.exit_code == 0, result.output
    log = log_api.read_eval_log(str(out))
    summary = run_summary(fleet.store, run_id)
    tasks = task_details(fleet.store, run_id)
    assert log.status == "success" and log.eval.model == summary.model.replace(":", "/", 1)
    assert log.eval.dataset.name == summary.suite and log.eval.config.epochs == 3
    assert len(log.samples) == len(tasks)
    metrics = log.results.scores[0].metrics
    assert metrics["verified_accuracy"].value == pytest.approx(summary.verified_accuracy)
    assert metrics["accuracy"].value == pytest.approx(summary.accuracy)
    by_key = {(s.id, s.epoch): s for s in log.samples}
    for task in tasks:
        sample = by_key[(task.capsule_id, task.repeat + 1)]
        assert sample.input == f"Reproduce {task.capsule_id} and answer the questions."  # the task prompt
        roles = [m.role for m in sample.messages]
        assert roles[:3] == ["system", "user", "assistant"] and "tool" in roles
        calls = [c for m in sample.messages if m.role == "assistant" for c in (m.tool_calls or [])]
        assert calls[0].function == "bash" and "python code/main.py" in calls[0].arguments["command"]
        results = [m for m in sample.messages if m.role == "tool"]
        assert results[0].tool_call_id == calls[0].id and "accuracy:" in results[0].text
        assert sample.scores["task"].value == ("C" if task.verified_correct else "I")
        names = question_scorer_names([q.question for q in task.questions])
        assert len(set(names)) == len(names) and not any(name.startswith("q") and name[1:].isdigit() for name in names)
        for name, question in zip(names, task.questions):
            score = sample.scores[name]
            assert score.metadata["question"] == question.question
            assert score.metadata["verified"] == question.verified_status
            if question.reported_present:
                assert json.loads(score.answer) == question.reported  # the answer, never the outcome
            if not score.history:
                assert score.explanation == question.reason
        usage = sample.model_usage[log.eval.model]
        assert (usage.input_tokens, usage.output_tokens) == (task.input_tokens, task.output_tokens)
        assert usage.total_cost == task.cost_usd


def test_a_claude_code_transcript_becomes_assistant_and_tool_messages(tmp_path):
    transcript = [
        {"type": "command", "agent": "claude-code", "exit_code": 0},
        {"type": "agent_event", "event": {"type": "system", "subtype": "init"}},
        {"type": "agent_event", "event": {"type": "assistant", "message": {"content": [
            {"type": "text", "text": "Running the analysis."},
            {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "python3 code/analysis.py"}}]}}},
        {"type": "agent_event", "event": {"type": "user", "message": {"content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "mean 3.73333"}]}]}}},
        {"type": "model_call", "usage": {"input_tokens": 10}},
    ]
    with open_store(tmp_path / "results.sqlite") as store:
        run_id = add_run(store, [SampleTask("iris-lda", [QA("Report the mean.", 3.7333, [3.7333] * 3, "correct")],
                                            transcript=transcript)], scaffold="command")
    out = tmp_path / "cc.json"
    result = export(tmp_path / "results.sqlite", "--format", "inspect", run_id, "--out", str(out))
    assert result.exit_code == 0, result.output
    sample = log_api.read_eval_log(str(out)).samples[0]
    assert [m.role for m in sample.messages] == ["assistant", "tool"]
    assert sample.messages[0].text == "Running the analysis."
    assert sample.messages[0].tool_calls[0].arguments == {"command": "python3 code/analysis.py"}
    assert sample.messages[1].text == "mean 3.73333" and sample.messages[1].tool_call_id == "t1"
    # Events with no chat form are kept, not dropped.
    assert [e["type"] for e in sample.metadata["unmapped_events"]] == ["command", "agent_event"]


def test_inspect_export_mistakes_are_one_line(fleet, tmp_path):
    for args, words in ((["--format", "inspect"], "RUN_ID"),
                        (["--format", "inspect", fleet.run_ids[0], "--out", str(tmp_path / "x.txt")], ".eval")):
        result = export(fleet.store.path, *args)
        assert result.exit_code == 2 and words in result.output, result.output
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_parquet_has_one_row_per_question_with_verdicts_reviewers_and_cost(fleet, tmp_path):
    out = tmp_path / "questions.parquet"
    result = export(fleet.store.path, "--format", "parquet", "--out", str(out))
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert len(frame) == fleet.store.query("SELECT COUNT(*) AS n FROM answers")[0]["n"]
    assert {"run_id", "model", "scaffold", "suite", "capsule_id", "repeat", "automatic_verdict", "verified_verdict",
            "reviewer", "task_cost_usd"} <= set(frame.columns)
    for verdict in fleet.verdicts:
        row = frame[frame["answer_id"].eq(verdict["answer_id"])].iloc[0]
        assert row["reviewer"] == verdict["reviewer"] and row["verified_verdict"] == verdict["status"]
        assert row["review_reason"] == verdict["reason"] and row["automatic_verdict"] == "disputed"
    assert frame["reviewer"].isna().sum() == len(frame) - len(fleet.verdicts)
    run_id = fleet.repeated_run_ids[0]
    mine = frame[frame["run_id"].eq(run_id)]
    for task in task_details(fleet.store, run_id):
        rows = mine[mine["capsule_id"].eq(task.capsule_id) & mine["repeat"].eq(task.repeat)]
        assert sorted(rows["verified_verdict"]) == sorted(q.verified_status for q in task.questions)
        assert set(rows["task_cost_usd"].dropna()) <= {task.cost_usd}
        assert [json.loads(v) for v in rows["reported"]] == [q.reported for q in task.questions]
    one = export(fleet.store.path, "--format", "parquet", run_id, "--out", str(tmp_path / "one.parquet"))
    assert one.exit_code == 0 and set(pd.read_parquet(tmp_path / "one.parquet")["run_id"]) == {run_id}


def test_inspect_view_lists_and_reads_the_exported_log(fleet, tmp_path, monkeypatch):
    """`inspect view` itself (its HTTP API, as its web page calls it) finds the log and reads its header."""
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path
    from urllib.request import urlopen

    logs = tmp_path / "logs"
    logs.mkdir()
    monkeypatch.chdir(logs)
    run_id = fleet.run_ids[0]
    assert export(fleet.store.path, "--format", "inspect", run_id).exit_code == 0  # default name, current folder
    [written] = list(logs.glob("*.eval"))
    assert written.name.endswith(f"_corebench-hard_{run_id}.eval")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inspect_cli = Path(sys.executable).parent / "inspect"
    server = subprocess.Popen([str(inspect_cli), "view", "start", "--log-dir", str(logs), "--port", str(port),
                               "--host", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        listing = None
        for _ in range(120):
            try:
                listing = json.load(urlopen(f"http://127.0.0.1:{port}/api/logs", timeout=2))
                break
            except OSError:
                time.sleep(0.5)
        assert listing is not None, "inspect view did not start"
        assert [Path(f["name"]).name for f in listing["files"]] == [written.name]
        headers = json.load(urlopen(f"http://127.0.0.1:{port}/api/log-headers?file={written.as_uri()}", timeout=10))
        assert headers[0]["status"] == "success" and headers[0]["eval"]["run_id"] == run_id
        assert headers[0]["results"]["scores"][0]["metrics"]["verified_accuracy"]["value"] == pytest.approx(
            run_summary(fleet.store, run_id).verified_accuracy)
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_an_agent_cli_transcript_becomes_paired_tool_calls_and_results(tmp_path):
    from test_report_transcripts_browser import agent_transcript

    with open_store(tmp_path / "results.sqlite") as store:
        run_id = add_run(store, [SampleTask("capsule-a", [QA("Report the accuracy.", 0.9, [0.9] * 3, "correct")],
                                            transcript=agent_transcript("codex"))], scaffold="codex")
    out = tmp_path / "codex.eval"
    assert export(tmp_path / "results.sqlite", "--format", "inspect", run_id, "--out", str(out)).exit_code == 0
    sample = log_api.read_eval_log(str(out)).samples[0]
    assert sample.input == "Reproduce the capsule and report the accuracy."
    roles = [m.role for m in sample.messages]
    assert roles == ["user", "assistant", "tool", "assistant", "tool", "assistant", "assistant", "tool"]
    for call, result in ((sample.messages[1], sample.messages[2]), (sample.messages[6], sample.messages[7])):
        assert call.tool_calls[0].id == result.tool_call_id  # every result answers a call
    assert sample.messages[1].tool_calls[0].arguments == {"command": "bash -lc ls"}
    assert sample.messages[2].text == "code\ndata\n" and sample.messages[5].text == "All <done>."
    kept = [e["type"] for e in sample.metadata["unmapped_events"]]
    assert kept.count("note") == 2 and "command" in kept and "output" in kept
