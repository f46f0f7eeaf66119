"""claude-code, codex and opencode end to end: the real native binary in a real container, through
the metering relay, against the local scripted server for its API, via `corebench run`."""

from __future__ import annotations

import html
import json
import sqlite3
from pathlib import Path

import pytest

from corebench_runner.capsules.plugins import load_plugin
from support_agents import AGENTS, PRICED_MODEL, report_command, run_cli, session_file, step
from support_capsules import write_capsule
from support_report import render_site
from support_run import RIGHT

ANALYSIS = "python3 code/analysis.py && cat results/summary.json"


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    write_capsule(tmp_path / "suite" / "capsules", "tiny")
    return tmp_path / "suite"


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("agent", AGENTS)
def test_agent_solves_a_capsule_and_its_run_is_graded_metered_and_reported(agent, suite, tmp_path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    script = session_file(tmp_path, agent, [
        step(agent, "Running the analysis.", ANALYSIS),
        step(agent, "Writing the report <b>now</b>.", report_command(RIGHT)),
        step(agent, "I wrote /workspace/report.json."),
    ])
    store = tmp_path / "results.sqlite"
    task, artifacts = run_cli(["--scaffold", agent, "--model", f"scripted:{script}",
                               "--capsules", "tiny", "--level", "hard"], store, suite)
    assert task["outcome"] == "correct" and task["error"] is None, task
    assert all(q["status"] == "correct" for q in task["questions"])
    # Usage came through the relay, priced from the price table.
    prompt_tokens = sum(task[k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
    assert task["cost_usd"] > 0 and prompt_tokens > 0 and task["output_tokens"] > 0
    # Each relayed call is a usage row written as it happened, and the task's totals count each once.
    with sqlite3.connect(store) as conn:
        rows = conn.execute("SELECT COUNT(*), SUM(input_tokens), SUM(output_tokens), MIN(live) FROM usage "
                            "WHERE task_id = ?", (task["task_id"],)).fetchone()
    assert rows[0] >= 3 and rows[1:] == (task["input_tokens"], task["output_tokens"], 1)
    # The agent's normalised transcript has both tool calls, with what the commands printed.
    events = json.loads((artifacts / task["transcript_path"]).read_text())
    calls = [e for e in events if e["type"] == "tool_call"]
    assert len(calls) == 2 and all(c["action"]["kind"] == "command" for c in calls)
    assert "3.7333" in calls[0]["output"]
    assert sum(1 for e in events if e["type"] == "model_call" and e.get("usage")) >= 3
    command = next(e for e in events if e["type"] == "command")
    assert command["agent"] == agent and command["version"] == load_plugin("scaffolds", agent).recipe.version
    # The report's transcript page shows every tool call, its output, the usage, and escapes agent text.
    site = render_site(store, tmp_path / "site")
    page = (site / "transcripts" / f"{task['task_id']}.html").read_text()
    assert html.escape(ANALYSIS, quote=False) in page.replace("&#34;", '"').replace("&#39;", "'")
    assert "mean_petal_length" in page and "tokens" in page
    assert "Writing the report &lt;b&gt;now&lt;/b&gt;." in page and "<b>now</b>" not in page


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("agent", AGENTS)
def test_agent_that_overspends_its_cap_ends_budget_exceeded(agent, suite, tmp_path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    # 400k input tokens a turn: $1.20 at claude-sonnet-4-6's $3/MTok, $0.50 at gpt-5's $1.25/MTok; the cap is $0.40.
    expensive = {"input_tokens": 400_000, "output_tokens": 10}
    script = session_file(tmp_path, agent, [step(agent, f"Step {i}.", f"echo step {i}", expensive)
                                            for i in range(6)] + [step(agent, "never reached")])
    store = tmp_path / "results.sqlite"
    task, _ = run_cli(["--scaffold", agent, "--model", f"scripted:{script}",
                       "--capsules", "tiny", "--level", "hard", "--max-cost-per-task", "0.40"], store, suite)
    assert task["outcome"] == "budget_exceeded", task
    assert "budget of $0.4 is spent" in task["error"]
    assert 0.40 <= task["cost_usd"] < 2.5  # one turn over the cap, then every call refused
    # Stopped within seconds of the refusal (an agent that keeps retrying is stopped), not at the clock.
    assert task["seconds"] < 90


EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("agent", ["codex", "opencode"])
def test_the_iris_lda_example_session_replays_correctly_with_no_key(agent, tmp_path, monkeypatch):
    # claude-code's example is replayed by test_claude_code_scaffold.py.
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    example = EXAMPLES / f"iris-lda.{agent}.session.json"
    task, artifacts = run_cli(["--scaffold", agent, "--model", f"scripted:{example}", "--capsules", "iris-lda",
                               "--level", "hard"], tmp_path / "results.sqlite")
    assert task["outcome"] == "correct" and len(task["questions"]) == 4, task
    produced = json.loads((artifacts / task["artifacts_dir"] / "results" / "lda.json").read_text())
    assert produced["resubstitution_errors"] == 3


def test_every_agent_scaffold_records_its_version_and_says_which_model_flag_to_pass():
    from corebench_runner.errors import UserError
    from corebench_runner.records import Limits

    for agent in AGENTS:
        scaffold = load_plugin("scaffolds", agent)
        assert scaffold.version == f"{agent}@{scaffold.recipe.version}"
        with pytest.raises(UserError, match="--model (openai|anthropic):MODEL"):
            scaffold.run(None, None, None, Limits())
    assert PRICED_MODEL["codex"] == "gpt-5"


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("agent", AGENTS)
def test_agent_that_ends_without_a_report_is_reminded_once_in_its_own_session(agent, suite, tmp_path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    script = session_file(tmp_path, agent, [
        step(agent, "The mean petal length is 3.7333; I am done."),  # ends without report.json
        step(agent, "Writing it now.", report_command(RIGHT)),
        step(agent, "Written."),
    ])
    store = tmp_path / "results.sqlite"
    task, artifacts = run_cli(["--scaffold", agent, "--model", f"scripted:{script}", "--capsules", "tiny",
                               "--level", "hard"], store, suite)
    # Correct only if the resumed call continued the conversation: the scripted server starts its
    # script over for a new one, which would end without a report again.
    assert task["outcome"] == "correct", task
    events = json.loads((artifacts / task["transcript_path"]).read_text())
    commands = [e for e in events if e["type"] == "command"]
    # Counted: a second attempt, continuing the first one's session after the reminder.
    assert [c["attempt"] for c in commands] == [1, 2]
    assert commands[1]["resumed_session"] and commands[1]["exit_code"] == 0
    reminder = next(e for e in events if e["type"] == "reminder")
    assert "/workspace/report.json" in reminder["text"]
    assert events.index(reminder) < events.index(commands[1])
    messages = [e["text"] for e in events if e["type"] == "message"]
    assert messages.index("Writing it now.") > messages.index("The mean petal length is 3.7333; I am done.")


@pytest.mark.docker
@pytest.mark.slow
def test_claude_code_stops_at_the_step_limit_and_is_not_reminded_past_it(suite, tmp_path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    agent = "claude-code"
    script = session_file(tmp_path, agent, [step(agent, f"Step {i}.", f"echo step {i}") for i in range(8)])
    task, artifacts = run_cli(["--scaffold", agent, "--model", f"scripted:{script}", "--capsules", "tiny",
                               "--level", "hard", "--max-steps", "3"], tmp_path / "results.sqlite", suite)
    assert task["outcome"] == "no_report" and task["steps"] == 3
    assert "stopped at its turn limit" in task["error"]
    events = json.loads((artifacts / task["transcript_path"]).read_text())
    assert [e["attempt"] for e in events if e["type"] == "command"] == [1]
    assert [e["output"] for e in events if e["type"] == "tool_call"] == ["step 0", "step 1", "step 2"]


@pytest.mark.docker
@pytest.mark.slow
def test_codex_which_has_no_step_limit_of_its_own_is_stopped_past_the_tasks(suite, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    agent = "codex"
    script = session_file(tmp_path, agent, [step(agent, f"Step {i}.", f"sleep 1; echo step {i}") for i in range(12)])
    task, artifacts = run_cli(["--scaffold", agent, "--model", f"scripted:{script}", "--capsules", "tiny",
                               "--level", "hard", "--max-steps", "3"], tmp_path / "results.sqlite", suite)
    assert task["outcome"] == "no_report", task
    assert "codex was stopped past its step limit (3 steps)" in task["error"]
    assert 4 <= task["steps"] <= 6  # the limit, the one call past it that trips the stop, little else
    events = json.loads((artifacts / task["transcript_path"]).read_text())
    assert [e["attempt"] for e in events if e["type"] == "command"] == [1]  # no reminder past the limit
