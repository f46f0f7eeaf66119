"""core-agent on OpenAI models: the real openai SDK, Responses API and Chat Completions, against the
local OpenAI server; tools in a real container for the session test, the local sandbox for the rest."""

from __future__ import annotations

import base64
import json
import warnings
from pathlib import Path

import pytest

from corebench_runner.capsules.format import load_capsule
from corebench_runner.capsules.levels import prepare
from corebench_runner.capsules.plugins import load_plugin
from corebench_runner.grading.loop import grade_report
from corebench_runner.models.factory import make_model
from corebench_runner.models.openai_client import OpenAIClient
from corebench_runner.models.pricing import find_price, load_prices
from corebench_runner.records import Limits, Outcome, TaskSpec
from corebench_runner.sandbox.base import SandboxSpec
from corebench_runner.sandbox.factory import open_sandbox
from corebench_scripted.openai_api import OpenAIServer
from support_capsules import GOOD_QUESTIONS, write_capsule
from support_messages import error, reply, text, tool_use

KEY = "sk-openai-test-local-only"
MODEL = "gpt-5-mini"  # priced in data/prices.toml
Q_MEAN, Q_SPECIES, Q_FIG = (q["text"] for q in GOOD_QUESTIONS)
RIGHT_ANSWERS = {Q_MEAN: 3.7333, Q_SPECIES: "setosa", Q_FIG: 3}
MAKE_FIGURE = ("python3 -c \"import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt; "
               "plt.scatter([1, 2, 3], [3, 1, 2]); plt.savefig('results/clusters.png', dpi=40)\"")
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def core_agent():
    return load_plugin("scaffolds", "core-agent")


@pytest.fixture
def server():
    with OpenAIServer(api_key=KEY) as running:
        yield running


def client(server: OpenAIServer, api: str) -> OpenAIClient:
    return OpenAIClient(MODEL, api_key=KEY, base_url=server.base_url, api=api, max_retries=2)


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


@pytest.mark.docker
def test_a_responses_session_runs_code_views_a_figure_submits_and_is_graded_with_cached_input(
        core_agent, server, tmp_path):
    capsule = load_capsule(write_capsule(tmp_path / "capsules", "tiny"))
    workspace = prepare(capsule, "hard", tmp_path / "workspace")
    task = workspace.task
    server.add(error(503, "server_error", retry_after=0),  # a transient outage, retried by the SDK
               reply(text("Running it."),
                     tool_use("bash", command="python3 code/analysis.py && cat results/summary.json")),
               reply(tool_use("bash", command=MAKE_FIGURE)),
               reply(tool_use("view_image", path="results/clusters.png")),
               reply(tool_use("submit", answers=RIGHT_ANSWERS)))
    spec = SandboxSpec(image="corebench/python:bookworm", workdir=task.workspace_dir,
                       labels={"corebench.task": "test-core-agent-openai"})
    with open_sandbox("docker", spec) as container:
        container.copy_in(workspace.path, task.workspace_dir)
        submission = core_agent.run(task, container, client(server, "responses"), Limits())
        png = container.read_file("/workspace/results/clusters.png")

    assert submission.outcome is None and submission.answers == RIGHT_ANSWERS and submission.steps == 4
    grade = grade_report(load_plugin("graders", "corebench"), capsule.questions, submission.answers)
    assert grade.correct_written == 2 and grade.correct_vision == 1
    bodies = [r.body for r in server.requests[1:]]
    assert all(r.path == "/v1/responses" for r in server.requests)
    assert bodies[0]["instructions"] and bodies[0]["store"] is False
    assert [t["name"] for t in bodies[0]["tools"]][:1] == ["bash"]
    # The code's output came back as the function call's output, paired by call_id.
    outputs = [i for i in bodies[1]["input"] if i.get("type") == "function_call_output"]
    call = next(i for i in bodies[1]["input"] if i.get("type") == "function_call")
    assert outputs[0]["call_id"] == call["call_id"] and '"mean_petal_length": 3.7333' in outputs[0]["output"]
    # The figure followed as an input_image the model could see.
    image = next(p for i in bodies[3]["input"] if i.get("role") == "user" for p in i["content"]
                 if p["type"] == "input_image")
    assert base64.b64decode(image["image_url"].split(",", 1)[1]) == png
    # Later turns repeat the earlier prompt: billed as cached input, recorded as cache reads, priced.
    calls = [e for e in submission.transcript if e["type"] == "model_call"]
    assert calls[0]["usage"]["cache_read_input_tokens"] == 0
    assert all(c["usage"]["cache_read_input_tokens"] > 0 for c in calls[1:])
    usage = submission.usage
    price = find_price(MODEL, load_prices())
    assert usage.calls == 4 and usage.cost_usd == pytest.approx(price.cost(usage))
    assert usage.cost_usd < (usage.input_tokens + usage.cache_read_input_tokens) * price.input / 1e6 \
        + usage.output_tokens * price.output / 1e6  # cheaper than with no cache


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_core_agent_submits_through_either_openai_api(core_agent, server, local_task, api):
    task, sandbox = local_task
    server.add(reply(tool_use("bash", command="echo 42")),
               reply(text("It is 42."), tool_use("submit", answers={"What is 6 x 7?": 42})))
    submission = core_agent.run(task, sandbox, client(server, api), Limits())
    assert submission.outcome is None and submission.answers == {"What is 6 x 7?": 42}
    path = "/v1/responses" if api == "responses" else "/v1/chat/completions"
    assert [r.path for r in server.requests] == [path, path]
    assert json.loads(Path(task.report_path).read_text()) == {"What is 6 x 7?": 42}
    assert submission.usage.cost_usd is not None and submission.usage.cost_usd > 0


def test_an_openai_api_that_stays_down_is_an_infra_error(core_agent, server, local_task):
    task, sandbox = local_task
    server.add(*[error(529, "overloaded_error", "Overloaded", retry_after=0)] * 3)
    submission = core_agent.run(task, sandbox, client(server, "responses"), Limits())
    assert submission.outcome is Outcome.INFRA_ERROR and "529" in submission.error
    assert submission.answers is None


def test_scripted_file_with_an_openai_protocol_starts_the_openai_server(tmp_path, core_agent, local_task):
    task, sandbox = local_task
    path = tmp_path / "s.json"
    for protocol, route in (("openai-responses", "/v1/responses"), ("openai-chat", "/v1/chat/completions")):
        path.write_text(json.dumps({"protocol": protocol, "steps": [
            reply(tool_use("submit", answers={"What is 6 x 7?": 42}))]}))
        model = make_model(f"scripted:{path}")
        try:
            assert model.protocol == protocol
            assert core_agent.run(task, sandbox, model, Limits()).answers == {"What is 6 x 7?": 42}
            assert [r.path for r in model.server.requests] == [route]
        finally:
            model.close()


@pytest.mark.docker
def test_the_documented_openai_session_replays_through_core_agent_with_no_key(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from corebench_runner.cli import main

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    store = str(tmp_path / "results.sqlite")
    session = REPO / "docs" / "examples" / "iris-lda.openai.session.json"
    result = CliRunner().invoke(main, ["run", "--model", f"scripted:{session}", "--scaffold", "core-agent",
                                       "--capsules", "iris-lda", "--level", "hard", "--quiet", "--store", store])
    assert result.exit_code == 0, result.output
    show = CliRunner().invoke(main, ["runs", "--store", store])
    assert "100.0%" in show.output or "100%" in show.output, show.output


def test_automatic_caching_cuts_the_billed_input_of_a_30_step_responses_session_below_a_third():
    import importlib.util

    path = REPO / "benchmarks" / "prompt_caching.py"
    spec = importlib.util.spec_from_file_location("prompt_caching_benchmark", path)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    usage = benchmark.play(True, "openai-responses")
    assert usage.cache_creation_input_tokens == 0  # OpenAI bills no cache writes
    assert benchmark.billed_input(usage) / (usage.input_tokens + usage.cache_read_input_tokens) <= 0.3
