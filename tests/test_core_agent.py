"""core-agent driven through the real anthropic SDK against the local Messages API server.

The session tests run tools in a real Docker container (corebench/python:bookworm); the
limit tests use the local sandbox, since what they check is the loop, not isolation.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
import warnings
from pathlib import Path

import pytest

from corebench_runner.capsules.format import load_capsule
from corebench_runner.capsules.levels import prepare
from corebench_runner.capsules.plugins import load_plugin
from corebench_runner.grading.loop import grade_report
from corebench_runner.models.anthropic_client import AnthropicClient
from corebench_runner.records import Limits, Outcome, TaskSpec
from corebench_runner.running.outputs import read_report
from corebench_runner.sandbox.base import SandboxSpec
from corebench_runner.sandbox.factory import open_sandbox
from support_capsules import GOOD_QUESTIONS, write_capsule
from support_messages import anthropic_client, error, messages_server, reply, result_text, text, tool_results, tool_use  # noqa: F401

IMAGE = "corebench/python:bookworm"
Q_MEAN, Q_SPECIES, Q_FIG = (q["text"] for q in GOOD_QUESTIONS)
RIGHT_ANSWERS = {Q_MEAN: 3.7333, Q_SPECIES: "setosa", Q_FIG: 3}
MAKE_FIGURE = ("python3 -c \"import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt; "
               "plt.scatter([1, 2, 3], [3, 1, 2]); plt.savefig('results/clusters.png', dpi=40)\"")


@pytest.fixture
def core_agent():
    return load_plugin("scaffolds", "core-agent")


@pytest.fixture
def capsule_task(tmp_path):
    """A real capsule prepared at the hard level: (capsule, host workspace, TaskSpec)."""
    capsule = load_capsule(write_capsule(tmp_path / "capsules", "tiny"))
    workspace = prepare(capsule, "hard", tmp_path / "workspace")
    return capsule, workspace.path, workspace.task


@pytest.fixture
def container(capsule_task):
    _, host_workspace, task = capsule_task
    spec = SandboxSpec(image=IMAGE, workdir=task.workspace_dir, labels={"corebench.task": "test-core-agent"})
    with open_sandbox("docker", spec) as sandbox:
        sandbox.copy_in(host_workspace, task.workspace_dir)
        yield sandbox


@pytest.mark.docker
def test_a_scripted_session_runs_code_views_a_figure_submits_and_is_graded(
        core_agent, capsule_task, container, messages_server):
    capsule, _, task = capsule_task
    messages_server.add(
        error(529, "overloaded_error", "Overloaded", retry_after=0.2),  # a transient outage, retried
        reply(text("Let me run the analysis."), tool_use("bash", command="python3 code/analysis.py && cat results/summary.json")),
        reply(tool_use("bash", command=MAKE_FIGURE)),
        reply(tool_use("view_image", path="results/clusters.png")),
        reply(tool_use("submit", answers={Q_MEAN: 3.7333, "How many clusters?": 3})),
        reply(tool_use("submit", answers=RIGHT_ANSWERS)),
    )
    submission = core_agent.run(task, container, anthropic_client(messages_server), Limits())

    assert submission.outcome is None and submission.error is None
    assert submission.answers == RIGHT_ANSWERS and submission.steps == 5
    assert json.loads(container.read_file(task.report_path)) == RIGHT_ANSWERS
    grade = grade_report(load_plugin("graders", "corebench"), capsule.questions, submission.answers)
    assert grade.correct_written == 2 and grade.correct_vision == 1

    assert messages_server.requests[0].body == messages_server.requests[1].body  # the same call, retried
    bodies = [r.body for r in messages_server.requests[1:]]
    # The command really ran in the container: the model saw the code's output.
    ran = result_text(tool_results(bodies[1])[0])
    assert "exit code: 0" in ran and '"mean_petal_length": 3.7333' in ran
    # The figure the container drew reached the model as an image block.
    seen = tool_results(bodies[3])[0]["content"]
    png = base64.b64decode(next(b for b in seen if b["type"] == "image")["source"]["data"])
    assert png == container.read_file("/workspace/results/clusters.png") and png.startswith(b"\x89PNG")
    # The wrong submit was refused with the missing and unknown keys named, as an error.
    refused = tool_results(bodies[4])[0]
    assert refused["is_error"] is True
    assert f"missing: {json.dumps(Q_SPECIES)}" in result_text(refused) and "unknown: \"How many clusters?\"" in result_text(refused)
    # The system prompt, tools and question text went to the model; no reference answer beyond the code's own.
    assert bodies[0]["messages"][0]["content"][0]["text"] == task.prompt
    assert "3.7333" not in json.dumps(bodies[0]) and "setosa" not in json.dumps(bodies[0])  # no reference answer
    assert [t["name"] for t in bodies[0]["tools"]] == ["bash", "view_file", "create_file", "edit_file",
                                                       "view_image", "submit"]

    kinds = [e["type"] for e in submission.transcript]
    assert kinds[0] == "prompt" and kinds[-1] == "end" and kinds.count("model_call") == 5
    calls = [e for e in submission.transcript if e["type"] == "tool_call"]
    assert [c["name"] for c in calls] == ["bash", "bash", "view_image", "submit", "submit"]
    assert calls[0]["exit_code"] == 0 and "3.7333" in calls[0]["output"] and calls[0]["seconds"] > 0
    assert [c.get("accepted") for c in calls[3:]] == [False, True]
    image_event = next(e for e in submission.transcript if e["type"] == "image")
    assert image_event["path"] == "/workspace/results/clusters.png" and base64.b64decode(image_event["bytes_b64"]) == png
    assert submission.usage.calls == 5 and submission.usage.input_tokens + submission.usage.cache_read_input_tokens > 0
    assert submission.usage.cost_usd is not None and submission.usage.cost_usd > 0
    json.dumps(submission.transcript)  # the transcript is JSON-able as stored


@pytest.mark.docker
def test_the_api_key_never_reaches_the_container(core_agent, capsule_task, container, monkeypatch):
    canary = f"sk-ant-canary-{uuid.uuid4().hex}"
    monkeypatch.setenv("ANTHROPIC_API_KEY", canary)
    from corebench_scripted.messages_api import MessagesServer

    with MessagesServer(api_key=canary) as server:
        server.add(reply(tool_use("bash", command="env; cat /proc/1/environ | tr '\\0' '\\n'")),
                   reply(tool_use("submit", answers=RIGHT_ANSWERS)))
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        model = AnthropicClient("claude-haiku-4-5")  # key and URL from the environment, like a user's
        submission = core_agent.run(capsule_task[2], container, model, Limits())
        assert submission.answers == RIGHT_ANSWERS
        assert server.requests[0].headers.get("x-api-key", server.requests[0].headers.get("authorization", "")) \
            .endswith(canary)  # the host did use the key
    assert canary not in json.dumps(submission.transcript)
    env = container.exec("env; cat /proc/1/environ")
    assert env.exit_code == 0 and "PATH=" in env.stdout and canary not in env.stdout + env.stderr
    found = container.exec(f"grep -rlsF {canary} / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev; true",
                           timeout=600)
    assert not found.timed_out and found.stdout.strip() == ""


# --- limits: each ends the task with its outcome and what was submitted ------------------------

@pytest.fixture
def local_task():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sandbox = open_sandbox("local", SandboxSpec(image="none"))
    with sandbox:
        task = TaskSpec(capsule_id="t", level="hard", prompt="Answer the question.", questions=("What is 6 x 7?",),
                        vision_questions=(), workspace_dir=sandbox.workdir,
                        report_path=str(Path(sandbox.workdir) / "report.json"))
        yield task, sandbox


def looping_steps(count: int) -> list[dict]:
    return [reply(tool_use("bash", command=f"echo step {n}")) for n in range(count)]


def test_the_step_limit_ends_the_task_as_timeout_keeping_written_answers(core_agent, local_task, messages_server):
    task, sandbox = local_task
    messages_server.add(reply(tool_use("bash", command="echo '{\"What is 6 x 7?\": 42}' > report.json")),
                        *looping_steps(10))
    submission = core_agent.run(task, sandbox, anthropic_client(messages_server), Limits(max_steps=3))
    assert submission.outcome is Outcome.TIMEOUT and "step limit (3" in submission.error
    assert submission.steps == 3 and len(messages_server.requests) == 3
    # Written by the agent itself before the limit: the engine reads it from the sandbox and grades it.
    assert read_report(sandbox, task.report_path).value == {"What is 6 x 7?": 42}
    assert submission.transcript[-1] == {**submission.transcript[-1], "type": "end", "outcome": "timeout"}


def test_wall_time_ends_the_task_and_caps_a_long_command(core_agent, local_task, messages_server):
    task, sandbox = local_task
    messages_server.add(reply(tool_use("bash", command="sleep 30")), *looping_steps(5))
    started = time.monotonic()
    submission = core_agent.run(task, sandbox, anthropic_client(messages_server), Limits(wall_seconds=2))
    assert time.monotonic() - started < 15
    assert submission.outcome is Outcome.TIMEOUT and "wall-time limit" in submission.error
    sleep_call = next(e for e in submission.transcript if e["type"] == "tool_call")
    assert sleep_call["timed_out"] is True and "killed after" in sleep_call["output"]
    assert submission.answers is None


def test_the_token_limit_ends_the_task_as_budget_exceeded(core_agent, local_task, messages_server):
    task, sandbox = local_task
    big = {"input_tokens": 6000, "output_tokens": 100}
    messages_server.add(*[dict(step, usage=big) for step in looping_steps(5)])
    submission = core_agent.run(task, sandbox, anthropic_client(messages_server), Limits(max_tokens=15_000))
    assert submission.outcome is Outcome.BUDGET_EXCEEDED and "token limit" in submission.error
    assert submission.steps == 3 and submission.usage.input_tokens == 18_000


def test_the_dollar_limit_ends_the_task_as_budget_exceeded_after_a_submit_attempt(core_agent, local_task, messages_server):
    task, sandbox = local_task
    # haiku 4.5: 200k input tokens cost $0.20 per call
    costly = {"input_tokens": 200_000, "output_tokens": 10}
    messages_server.add(reply(tool_use("submit", answers={"wrong key": 42}), usage=costly),
                        *[dict(step, usage=costly) for step in looping_steps(5)])
    submission = core_agent.run(task, sandbox, anthropic_client(messages_server), Limits(max_cost_usd=0.5))
    assert submission.outcome is Outcome.BUDGET_EXCEEDED and "cost limit" in submission.error
    assert submission.steps == 3 and submission.usage.cost_usd == pytest.approx(0.6 + 3 * 10 * 5 / 1e6)
    assert submission.answers is None  # the only submit was refused


def test_an_unpriced_model_notes_that_the_dollar_limit_cannot_hold(core_agent, local_task, messages_server):
    task, sandbox = local_task
    messages_server.add(*looping_steps(2))
    model = anthropic_client(messages_server, model="claude-no-price-here")
    submission = core_agent.run(task, sandbox, model, Limits(max_cost_usd=0.01, max_steps=2))
    assert submission.outcome is Outcome.TIMEOUT and submission.usage.cost_usd is None
    assert any(e["type"] == "note" and "dollar limit cannot be enforced" in e["text"] for e in submission.transcript)


def test_an_api_that_stays_down_is_an_infra_error_not_a_wrong_answer(core_agent, local_task, messages_server):
    task, sandbox = local_task
    messages_server.add(reply(tool_use("bash", command="echo hi")),
                        *[error(500, "api_error", "Internal server error", retry_after=0)] * 3)
    submission = core_agent.run(task, sandbox, anthropic_client(messages_server, max_retries=2), Limits())
    assert submission.outcome is Outcome.INFRA_ERROR
    assert "500" in submission.error and "Internal server error" in submission.error
    assert submission.steps == 1


def test_an_agent_that_stops_without_submitting_is_reminded_then_ends_with_no_answers(core_agent, local_task,
                                                                                       messages_server):
    task, sandbox = local_task
    messages_server.add(reply(text("I am done.")), reply(text("Really done.")), reply(text("Bye.")))
    submission = core_agent.run(task, sandbox, anthropic_client(messages_server), Limits())
    assert submission.outcome is None and submission.answers is None and submission.steps == 3
    assert "You have not submitted" in messages_server.requests[1].body["messages"][-1]["content"][0]["text"]
    assert submission.transcript[-1]["reason"] == "the agent stopped without submitting"


def test_file_tools_view_edit_create_and_cut_long_output(core_agent, local_task, messages_server):
    task, sandbox = local_task
    messages_server.add(
        reply(tool_use("create_file", path="notes/a.txt", content="alpha\nbeta\n")),
        reply(tool_use("edit_file", path="notes/a.txt", old_text="beta", new_text="gamma")),
        reply(tool_use("view_file", path="notes/a.txt")),
        reply(tool_use("edit_file", path="notes/a.txt", old_text="nowhere", new_text="x")),
        reply(tool_use("bash", command="seq 1 100000")),
        reply(tool_use("view_image", path="notes/a.txt")),
        reply(tool_use("submit", answers={"What is 6 x 7?": "42"})))
    submission = core_agent.run(task, sandbox, anthropic_client(messages_server), Limits())
    outputs = [result_text(tool_results(r.body)[0]) for r in messages_server.requests[1:]]
    assert outputs[0].startswith("wrote 11 bytes")
    assert "     1\talpha\n     2\tgamma" in outputs[2]
    assert "occurs 0 times" in outputs[3]
    assert outputs[4].count("\n") < 5000 and "characters omitted" in outputs[4] and outputs[4].rstrip().endswith("100000")
    assert "not a PNG, JPEG" in outputs[5]
    assert submission.answers == {"What is 6 x 7?": "42"}


def test_prompt_caching_cuts_the_billed_input_of_a_30_step_session_below_a_third():
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "prompt_caching.py"
    spec = importlib.util.spec_from_file_location("prompt_caching_benchmark", path)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    uncached, cached = benchmark.play(False), benchmark.play(True)
    assert uncached.cache_read_input_tokens == 0 and cached.cache_read_input_tokens > 0
    assert benchmark.billed_input(cached) / benchmark.billed_input(uncached) <= 0.3


def test_a_scaffold_dropped_into_a_suite_is_found_by_name_with_no_engine_change(tmp_path):
    from corebench_runner.capsules.plugins import available

    (tmp_path / "scaffolds").mkdir()
    (tmp_path / "scaffolds" / "shouty.py").write_text(
        "from corebench_runner.records import Submission\n"
        "class Shouty:\n    name, version, needs_model, always_uses_capsule_environment = 'shouty', '0', False, False\n"
        "    def run(self, task, sandbox, model, limits):\n        return Submission(answers={q: 'YES' for q in task.questions})\n"
        "SCAFFOLD = Shouty()\n")
    assert {"core-agent", "shouty"} <= set(available("scaffolds", tmp_path))
    shouty = load_plugin("scaffolds", "shouty", tmp_path)
    task = TaskSpec(capsule_id="t", level="easy", prompt="", questions=("q?",), vision_questions=(),
                    workspace_dir="/w", report_path="/w/report.json")
    assert shouty.run(task, None, None, Limits()).answers == {"q?": "YES"}


# --- through the CLI, as a user types it ------------------------------------------------------

EXAMPLE_SESSION = Path(__file__).resolve().parent.parent / "docs" / "examples" / "iris-lda.session.json"


@pytest.mark.docker
def test_the_documented_scripted_demo_runs_end_to_end_with_no_key(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from corebench_runner.cli import main

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    result = CliRunner().invoke(main, ["run", "--model", f"scripted:{EXAMPLE_SESSION}", "--scaffold", "core-agent",
                                       "--capsules", "iris-lda", "--level", "hard", "--quiet",
                                       "--store", str(tmp_path / "results.sqlite")])
    assert result.exit_code == 0, result.output
    show = CliRunner().invoke(main, ["runs", "--store", str(tmp_path / "results.sqlite")])
    assert "100.0%" in show.output or "100%" in show.output, show.output


def test_a_missing_key_stops_the_run_with_one_line(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from corebench_runner.cli import main

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    result = CliRunner().invoke(main, ["run", "--model", "anthropic:claude-haiku-4-5", "--scaffold", "core-agent",
                                       "--capsules", "iris-lda", "--store", str(tmp_path / "r.sqlite")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: $ANTHROPIC_API_KEY is not set; export your key, or try without one: --model scripted:FILE "
        "(see docs/models.md)"]


def test_old_tool_outputs_are_elided_when_the_conversation_outgrows_the_context_budget(core_agent, local_task,
                                                                                     messages_server):
    task, sandbox = local_task
    messages_server.add(*[reply(tool_use("bash", command=f"seq {n} 3000")) for n in range(8)],
                        reply(tool_use("submit", answers={"What is 6 x 7?": 42})))
    small_window = type(core_agent)(context_budget_tokens=20_000)  # each output is about 3,500 tokens
    submission = small_window.run(task, sandbox, anthropic_client(messages_server), Limits())
    assert submission.answers == {"What is 6 x 7?": 42}
    last = messages_server.requests[-1].body["messages"]
    outputs = [result_text(b) for m in last if isinstance(m["content"], list) for b in m["content"]
               if b.get("type") == "tool_result"]
    assert outputs[0].startswith("[old output elided") and outputs[-1].startswith("exit code: 0")
    full = [e["output"] for e in submission.transcript if e["type"] == "tool_call" and e["name"] == "bash"]
    assert sum(len(o) for o in outputs) // 4 < 20_000 < sum(len(o) for o in full) // 4
    assert any(e["type"] == "note" and "elided" in e["text"] for e in submission.transcript)
    # the transcript keeps every output in full, whatever the model was shown later
    assert all(e["output"].startswith("exit code: 0") for e in submission.transcript
               if e["type"] == "tool_call" and e["name"] == "bash")


def test_files_too_big_for_the_model_are_refused_with_a_way_forward(core_agent, local_task, messages_server):
    task, sandbox = local_task
    messages_server.add(
        reply(tool_use("bash", command="head -c 12000000 /dev/zero | tr '\\\\0' 'a' > big.txt && "
                                       "python3 -c \"open('big.png','wb').write(b'\\\\x89PNG\\\\r\\\\n\\\\x1a\\\\n' + bytes(6000000))\"")),
        reply(tool_use("view_file", path="big.txt")),
        reply(tool_use("view_image", path="big.png")),
        reply(tool_use("view_file", path="missing.txt")),
        reply(tool_use("submit", answers={"What is 6 x 7?": 42})))
    core_agent.run(task, sandbox, anthropic_client(messages_server), Limits())
    outputs = [result_text(tool_results(r.body)[0]) for r in messages_server.requests[1:]]
    assert "exit code: 0" in outputs[0]
    assert "big.txt is 11.4 MB, over the 10 MB" in outputs[1] and "head" in outputs[1]
    assert "big.png is 5.7 MB, over the 5 MB" in outputs[2] and "smaller copy" in outputs[2]
    assert outputs[3].endswith("missing.txt: no such file")


def test_a_rejected_key_stops_the_task_as_a_user_error_not_a_score(core_agent, local_task, messages_server):
    from corebench_runner.errors import UserError

    task, sandbox = local_task
    messages_server.add(reply(text("never reached")))
    model = AnthropicClient("claude-haiku-4-5", api_key="not-the-right-key", base_url=messages_server.url)
    with pytest.raises(UserError, match="rejected the key"):
        core_agent.run(task, sandbox, model, Limits())
