"""The claude-code scaffold: the real native Claude Code binary in a real container, talking to the
local Messages server (streaming) only through the metering relay on the host."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corebench_runner.agents.cli_agents.npm_fetch import fetch
from corebench_runner.agents.cli_agents.recipe import bundled_recipe, with_version
from corebench_runner.agents.cli_agents.session import default_gateway
from corebench_runner.agents.image import agent_image as build_layer, layer_tag
from corebench_runner.capsules.plugins import load_plugin
from corebench_runner.diagnostics.stored import show_json
from corebench_runner.errors import UserError
from corebench_runner.models.anthropic_client import AnthropicClient
from corebench_runner.models.pricing import find_price, load_prices
from corebench_runner.records import Limits, Outcome, TaskSpec, Usage
from corebench_runner.running.outputs import read_report, settle
from corebench_runner.sandbox.base import SandboxSpec
from corebench_runner.sandbox.docker.sandbox import DockerSandbox
from corebench_runner.store.database import open_store
from corebench_runner.store.results import list_runs
from corebench_scripted.messages_api import MessagesServer

COMMAND = load_plugin("scaffolds", "claude-code")
RECIPE = bundled_recipe("claude-code")
TASK_IMAGE = "corebench/python:bookworm"
MODEL = "claude-sonnet-4-6"
REAL_KEY = "sk-ant-api03-REAL-KEY-must-never-reach-a-container-4f1c9a"
QUESTION = "Report the mean of the values in data/values.txt."


def bash(command: str) -> dict:
    return {"content": [{"type": "text", "text": "Running a command."},
                        {"type": "tool_use", "name": "Bash", "input": {"command": command, "description": "run"}}]}


def say(text: str) -> dict:
    return {"content": [{"type": "text", "text": text}]}


@pytest.fixture(scope="module")
def agent_image() -> str:
    return build_layer(TASK_IMAGE, RECIPE)


@pytest.fixture
def task(tmp_path: Path) -> tuple[TaskSpec, Path]:
    workspace = tmp_path / "workspace"
    (workspace / "data").mkdir(parents=True)
    (workspace / "results").mkdir()
    (workspace / "data" / "values.txt").write_text("1\n2\n3\n4\n")
    spec = TaskSpec(capsule_id="mean-demo", level="hard", prompt=f"Answer in /workspace/report.json:\n- {QUESTION}",
                    questions=(QUESTION,), vision_questions=(), workspace_dir="/workspace",
                    report_path="/workspace/report.json", language="Python")
    return spec, workspace


@pytest.fixture
def upstream(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", REAL_KEY)
    with MessagesServer(api_key=REAL_KEY, side_replies=True) as server:
        yield server


def run_task(agent_image: str, task, upstream, limits: Limits = Limits(wall_seconds=300), keep: list | None = None):
    """(the submission, as the engine settles it, and report.json as the engine reads it)."""
    spec, workspace = task
    model = AnthropicClient(MODEL, api_key=REAL_KEY, base_url=upstream.url)
    sandbox_spec = SandboxSpec(image=agent_image, labels={"corebench.task": "test-command"})
    with DockerSandbox(sandbox_spec) as sandbox:
        sandbox.copy_in(workspace, spec.workspace_dir)
        submission = COMMAND.run(spec, sandbox, model, limits)
        report = read_report(sandbox, spec.report_path)
        settle(submission, report)
        if keep is not None:  # evidence gathered from inside the container after the run
            keep.append(sandbox.exec(["grep", "-rlsF", REAL_KEY, "/", "--exclude-dir=proc", "--exclude-dir=sys",
                                      "--exclude-dir=dev"], timeout=300))
            keep.append(sandbox.container.attrs["Config"]["Env"])
            keep.append(sandbox.read_file("/workspace/env.txt").decode())
    return submission, report


@pytest.mark.docker
@pytest.mark.slow
def test_claude_code_runs_the_task_and_its_report_is_collected_and_metered(agent_image, task, upstream):
    upstream.add(
        bash("python3 -c \"import json,statistics; v=[float(x) for x in open('data/values.txt')]; "
             f"json.dump({{'{QUESTION}': statistics.mean(v)}}, open('report.json','w'))\""),
        say("I wrote report.json."),
    )
    submission, report = run_task(agent_image, task, upstream)
    assert submission.error is None and submission.outcome is None
    assert report.value == {QUESTION: 2.5}
    # Both turns went upstream, with the real key; the agent ran its command and saw the result.
    assert len(upstream.main_requests) == 2 and upstream.steps_left == 0
    assert {r.headers["x-api-key"] for r in upstream.requests} == {REAL_KEY}
    tool_results = [b for b in upstream.main_requests[1].body["messages"][-1]["content"] if b["type"] == "tool_result"]
    assert tool_results and not tool_results[0].get("is_error")
    # Usage metered by the relay and priced from the price table.
    usage = submission.usage
    assert usage.calls == 2 and usage.output_tokens > 0 and usage.cache_creation_input_tokens > 0
    calls = [t for t in submission.transcript if t["type"] == "model_call"]
    price = find_price(MODEL, load_prices())
    assert usage.cost_usd == pytest.approx(sum(price.cost(Usage(**c["usage"])) for c in calls))
    # Claude Code's own reckoning of the cost (its final result line) agrees with the relay's.
    final = [t for t in submission.transcript if t["type"] == "note" and "agent_cost_usd" in t][-1]
    assert usage.cost_usd > 0 and final["agent_cost_usd"] == pytest.approx(usage.cost_usd)
    assert "I wrote report.json." in final["text"]
    # The transcript holds the tool call with its output, and what the agent said.
    (call,) = [t for t in submission.transcript if t["type"] == "tool_call"]
    assert call["name"] == "Bash" and call["action"]["kind"] == "command" and "statistics" in call["action"]["command"]
    assert call["is_error"] is False
    said = [t for t in submission.transcript if t["type"] == "message" and t["text"] == "Running a command."]
    assert said and said[0]["role"] == "assistant"
    # Each model call sits before the turn it caused, with its time from the task's start (never all at 0).
    kinds = [t["type"] for t in submission.transcript]
    assert kinds.index("model_call") < kinds.index("message") < kinds.index("tool_call")
    assert len([i for i, k in enumerate(kinds) if k == "model_call" and i > kinds.index("tool_call")]) == 1
    assert 0 < calls[0]["t"] < calls[1]["t"] and said[0]["t"] >= calls[0]["t"]
    # One run, no resume: the report was there.
    assert [t["attempt"] for t in submission.transcript if t["type"] == "command"] == [1]
    assert submission.steps == 2


@pytest.mark.docker
@pytest.mark.slow
def test_the_api_key_never_enters_the_container(agent_image, task, upstream):
    upstream.add(
        bash("env > /workspace/env.txt; cat /proc/self/environ /proc/$PPID/environ | tr '\\0' '\\n' >> /workspace/env.txt;"
             " echo '{}' > report.json"),
        say("done"),
    )
    evidence: list = []
    _, report = run_task(agent_image, task, upstream, keep=evidence)
    grep, container_env, agent_env = evidence
    assert report.value == {}
    # What the agent's own processes had: the relay's token and address, never the key.
    assert "ANTHROPIC_API_KEY=cbr-" in agent_env and "ANTHROPIC_BASE_URL=http://" in agent_env
    assert REAL_KEY not in agent_env
    # Not in the container's configuration, and in no file anywhere in its filesystem.
    assert all(REAL_KEY not in item for item in container_env)
    assert grep.exit_code == 1 and grep.stdout == "", grep.stdout
    # While upstream did get the key, from the relay.
    assert upstream.requests[0].headers["x-api-key"] == REAL_KEY


@pytest.mark.docker
@pytest.mark.slow
def test_the_dollar_cap_cuts_the_task_off(agent_image, task, upstream):
    # Each scripted turn bills 100k input tokens: $0.30 at claude-sonnet-4-6's $3/MTok; the cap is $0.50.
    expensive = {"input_tokens": 100_000, "output_tokens": 10}
    upstream.add(*[dict(bash(f"echo step {i}"), usage=expensive) for i in range(6)], say("never reached"))
    submission, report = run_task(agent_image, task, upstream, Limits(wall_seconds=300, max_cost_usd=0.50))
    assert submission.outcome is Outcome.BUDGET_EXCEEDED
    assert "budget of $0.5 is spent" in submission.error
    assert len(upstream.main_requests) == 2 and upstream.steps_left == 5
    assert submission.usage.calls == 2
    assert submission.usage.cost_usd == pytest.approx(2 * (100_000 * 3.0 + 10 * 15.0) / 1e6)
    assert report.state == "missing"
    assert submission.seconds < 120  # stopped at once, not at the wall clock


@pytest.mark.docker
@pytest.mark.slow
def test_an_agent_that_writes_no_report_is_resumed_once_then_no_report(agent_image, task, upstream):
    upstream.add(say("I could not run the code."), say("Still nothing to report."))
    submission, report = run_task(agent_image, task, upstream)
    assert submission.outcome is Outcome.NO_REPORT and report.state == "missing"
    assert submission.error.startswith("the agent wrote no report at /workspace/report.json")
    assert submission.usage.calls == 2
    assert [t["attempt"] for t in submission.transcript if t["type"] == "command"] == [1, 2]


@pytest.mark.docker
@pytest.mark.slow
def test_the_resumed_session_continues_the_conversation_and_its_report_counts(agent_image, task, upstream):
    upstream.add(say("I think the mean is 2.5."),
                 bash(f"echo '{{\"{QUESTION}\": 2.5}}' > /workspace/report.json"), say("Written."))
    submission, report = run_task(agent_image, task, upstream)
    assert submission.outcome is None and report.value == {QUESTION: 2.5}
    reminder = next(t for t in submission.transcript if t["type"] == "reminder")
    assert "/workspace/report.json" in reminder["text"] and reminder["attempt"] == 2
    commands = [t for t in submission.transcript if t["type"] == "command"]
    assert [c["attempt"] for c in commands] == [1, 2] and commands[1]["resumed_session"]
    # The same session went on: the model saw its first answer and then the reminder.
    resumed = upstream.main_requests[1].body["messages"]
    assert "the mean is 2.5" in json.dumps(resumed) and "report.json" in json.dumps(resumed[-1])


@pytest.mark.docker
@pytest.mark.slow
def test_an_agent_past_the_wall_clock_is_stopped_as_a_timeout(agent_image, task, upstream):
    upstream.add(bash("python3 -c \"import time; time.sleep(300)\""), say("never reached"))
    submission, _ = run_task(agent_image, task, upstream, Limits(wall_seconds=20))
    assert submission.outcome is Outcome.TIMEOUT
    assert "ran past 20s" in submission.error
    assert submission.seconds < 60


@pytest.mark.docker
def test_a_container_without_the_agent_layer_is_an_infrastructure_error(task, upstream):
    spec, workspace = task
    model = AnthropicClient(MODEL, api_key=REAL_KEY, base_url=upstream.url)
    with DockerSandbox(SandboxSpec(image=TASK_IMAGE, labels={"corebench.task": "test-command"})) as sandbox:
        submission = COMMAND.run(spec, sandbox, model, Limits())
    assert submission.outcome is Outcome.INFRA_ERROR
    assert "image_for" in submission.error
    assert upstream.requests == []


@pytest.mark.docker
def test_the_agent_layer_is_cached_by_content(agent_image):
    fetched = fetch(RECIPE)
    assert agent_image == layer_tag(TASK_IMAGE, RECIPE, fetched)
    assert build_layer(TASK_IMAGE, RECIPE) == agent_image  # no rebuild: same tag back
    assert layer_tag(TASK_IMAGE, with_version(RECIPE, "2.1.99"), fetched) != agent_image
    assert layer_tag("corebench/r:bookworm", RECIPE, fetched) != agent_image
    assert COMMAND.version == f"claude-code@{RECIPE.version}"


def test_default_gateway_is_read_from_the_route_table():
    table = ("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n"
             "eth0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\n"
             "eth0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\n")
    assert default_gateway(table) == "172.17.0.1"
    assert default_gateway(table.splitlines()[0]) is None


def test_without_a_model_the_scaffold_says_which_flag_to_pass(task):
    with pytest.raises(UserError, match="--model"):
        COMMAND.run(task[0], None, None, Limits())


CLAUDE_CODE_SESSION = Path(__file__).resolve().parent.parent / "docs" / "examples" / "iris-lda.claude-code.session.json"


@pytest.mark.docker
@pytest.mark.slow
def test_a_scripted_claude_code_session_runs_end_to_end_through_the_cli_with_no_key(tmp_path, monkeypatch):
    # The local server streams and answers Claude Code's side calls, so a script of its tool calls
    # plays through the real CLI in a real container, with no key anywhere.
    from click.testing import CliRunner

    from corebench_runner.cli import main

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    store = tmp_path / "results.sqlite"
    result = CliRunner().invoke(main, ["run", "--model", f"scripted:{CLAUDE_CODE_SESSION}", "--scaffold", "claude-code",
                                       "--capsules", "iris-lda", "--level", "hard", "--quiet", "--store", str(store)])
    assert result.exit_code == 0, result.output
    with open_store(store, create=False) as opened:
        (run,) = list_runs(opened)
        shown = show_json(opened, run.id)
        artifacts = opened.artifacts_dir
    (task,) = shown["tasks"]
    assert task["outcome"] == "correct" and task["error"] is None
    assert all(q["status"] == "correct" for q in task["questions"]) and len(task["questions"]) == 4
    # Claude Code really ran the capsule's script (its output is in the run's artifacts), and the
    # scripted model cost nothing.
    assert task["stages"]["code_ran"] and task["cost_usd"] == 0.0
    produced = json.loads((artifacts / task["artifacts_dir"] / "results" / "lda.json").read_text())
    assert produced["resubstitution_errors"] == 3
