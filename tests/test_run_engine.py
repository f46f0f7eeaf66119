"""`corebench run` end to end: real Docker sandboxes, real SQLite, the CLI as a user types it."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.models.pricing import find_price, load_prices
from corebench_runner.records import Limits, Outcome, Usage
from corebench_runner.running.task import TaskJob, execute_task
from corebench_runner.store.database import open_store
from support_capsules import write_capsule
from support_run import RIGHT, containers_of, count_rows, make_suite, show_json

OUTCOME_SUITE = ["good-a", "rounded-a", "wrong-a", "silent-a", "garbled-a", "listy-a", "flaky-a", "broken-a"]
EXPECTED = {
    "good-a": "correct", "rounded-a": "disputed", "wrong-a": "incorrect", "silent-a": "no_report",
    "garbled-a": "invalid_report", "listy-a": "invalid_report", "flaky-a": "correct", "broken-a": "infra_error",
}


def _run(runner, suite: Path, store: Path, *args: str):
    return runner.invoke(main, ["--suite", str(suite), "run", "--scaffold", "behave", "--store", str(store), *args])


@pytest.mark.docker
def test_one_run_records_every_outcome_and_cleans_up(tmp_path: Path, monkeypatch):
    suite = make_suite(tmp_path / "suite", OUTCOME_SUITE)
    (tmp_path / "state").mkdir()
    monkeypatch.setenv("BEHAVE_STATE", str(tmp_path / "state"))
    store = tmp_path / "results.sqlite"
    runner = CliRunner()
    result = _run(runner, suite, store, "--all", "--concurrency", "4", "--level", "hard")
    assert result.exit_code == 0, result.output

    shown = show_json(runner, store, "")  # the only run: an empty prefix is unambiguous
    run, tasks = shown["run"], shown["tasks"]
    assert {t["capsule_id"]: t["outcome"] for t in tasks} == EXPECTED
    assert run["status"] == "finished" and run["scaffold"] == "behave" and run["scaffold_version"] == "7"
    assert run["model"] == "none" and run["level"] == "hard" and run["grader"] == "tolerant"
    assert run["accuracy"] == pytest.approx(2 / 8) and run["infra_errors"] == 1 and run["open_disputes"] == 1
    # The config is recorded before anything runs: capsule hashes, engine version, host.
    assert set(run["config"]["capsule_hashes"]) == set(OUTCOME_SUITE) and run["engine_version"]
    # Cost sums what tasks that reached the scaffold reported (infra errors spent nothing recorded).
    assert run["cost_usd"] == pytest.approx(0.5 * 7)

    by_id = {t["capsule_id"]: t for t in tasks}
    assert "gone for good" in by_id["broken-a"]["error"]
    assert [q["status"] for q in by_id["rounded-a"]["questions"]] == ["disputed", "correct", "correct"]
    assert all(not q["reported_present"] for q in by_id["silent-a"]["questions"])
    assert "not valid JSON" in by_id["garbled-a"]["error"] and "list" in by_id["listy-a"]["error"]
    assert by_id["broken-a"]["questions"] == []  # an infra error is not graded as wrong answers

    with open_store(store) as opened:
        details = {r["capsule_id"]: json.loads(r["details_json"]) for r in opened.query("SELECT * FROM tasks")}
        artifacts = opened.artifacts_dir
    assert details["flaky-a"]["infra_attempts"] == 2 and details["broken-a"]["infra_attempts"] == 3
    good = by_id["good-a"]
    transcript = json.loads((artifacts / good["transcript_path"]).read_text())
    assert transcript[0]["kind"] == "good"
    produced = artifacts / good["artifacts_dir"]
    assert (produced / "results" / "made_by_agent.txt").read_text() == "produced good"
    assert (artifacts / Path(good["transcript_path"]).parent / "report.json").is_file()

    # What a person sees while it runs (the bar on stderr) and at the end, and in `runs`.
    # No terminal here: one line per finished task, with the totals so far, and no redrawn bar frames.
    assert "[8/8] " in result.output and "(acc 25%, cost $3.50 so far)" in result.output
    assert "\r" not in result.output
    assert "accuracy 25.0% (2/8 tasks correct)" in result.output and "infra errors 1" in result.output
    listed = runner.invoke(main, ["runs", "--json", "--store", str(store)])
    assert json.loads(listed.output)[0]["accuracy"] == pytest.approx(0.25)
    table = runner.invoke(main, ["runs", "--store", str(store)])
    assert run["id"] in table.output and "25.0%" in table.output
    shown_text = runner.invoke(main, ["show", run["id"], "--store", str(store)])
    assert "rounded-a #0: disputed" in shown_text.output and "(not reported)" in shown_text.output

    assert containers_of(run["id"]) == []
    assert count_rows(store, run["id"]) == {"tasks": 8, "done": 8, "answers": 7 * 3, "duplicate_answers": 0}


@pytest.mark.docker
def test_repeats_and_a_run_budget(tmp_path: Path):
    suite = make_suite(tmp_path / "suite", ["good-a", "good-b"])
    store = tmp_path / "results.sqlite"
    runner = CliRunner()
    # Each task costs $0.50; with a $0.60 budget and one task at a time, the third and fourth never start.
    result = _run(runner, suite, store, "--capsules", "good-a,good-b", "--repeats", "2", "--concurrency", "1",
                  "--max-cost", "0.6", "--quiet")
    assert result.exit_code == 0, result.output
    tasks = show_json(runner, store, "")["tasks"]
    assert [(t["capsule_id"], t["repeat"]) for t in tasks] == [("good-a", 0), ("good-a", 1), ("good-b", 0),
                                                               ("good-b", 1)]
    outcomes = sorted(t["outcome"] for t in tasks)
    assert outcomes == ["budget_exceeded", "budget_exceeded", "correct", "correct"]
    assert result.output == show_json(runner, store, "")["run"]["id"] + "\n"  # --quiet: only the run's id
    assert all("--max-cost" in t["error"] for t in tasks if t["outcome"] == "budget_exceeded")


@pytest.mark.docker
def test_the_engine_stops_a_scaffold_that_ignores_its_time_limit(tmp_path: Path):
    suite = make_suite(tmp_path / "suite", ["stubborn-a"])
    job = TaskJob(run_id="watchdog-test", task_id=1, capsule_id="stubborn-a", repeat=0, suite_root=str(suite),
                  level="hard", scaffold="behave", model="none", limits=Limits(wall_seconds=3), timeout_grace=2)
    attempt = execute_task(job)
    assert attempt.submission.outcome == Outcome.TIMEOUT
    assert "stopped by the engine after 3s" in attempt.submission.error
    assert attempt.submission.seconds < 60
    assert containers_of("watchdog-test") == []


def test_user_mistakes_end_in_one_line(tmp_path: Path):
    suite = make_suite(tmp_path / "suite", ["good-a"])
    store = tmp_path / "results.sqlite"
    runner = CliRunner()
    cases = [
        (["--capsules", "nope"], "no capsule 'nope'"),
        (["--capsules", "good-a", "--all"], "--capsules and --all"),
        (["--repeats", "0"], "--repeats"),
        (["--concurrency", "0"], "--concurrency"),
        (["--grader", "nonexistent"], "unknown grader 'nonexistent'"),
        (["--resume", "no-such-run"], "drop --scaffold"),  # a resume takes the run's own options
        (["--executor", "ray", "--ray-address", "127.0.0.1:1"], "--ray-address 127.0.0.1:1: nothing answers"),
    ]
    for args, expected in cases:
        result = _run(runner, suite, store, *args)
        assert result.exit_code == 2, (args, result.output)
        assert expected in result.output and "Traceback" not in result.output, (args, result.output)
    result = runner.invoke(main, ["--suite", str(suite), "run", "--scaffold", "nonexistent", "--store", str(store)])
    assert result.exit_code == 2 and "unknown scaffold 'nonexistent'" in result.output
    result = runner.invoke(main, ["run", "--resume", "no-such-run", "--store", str(store)])
    assert result.exit_code == 2 and "no run 'no-such-run'" in result.output
    result = runner.invoke(main, ["runs", "--store", str(tmp_path / "absent.sqlite")])
    assert result.exit_code == 2 and "no results store" in result.output
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"garbage" * 1000)
    result = runner.invoke(main, ["show", "x", "--store", str(bad)])
    assert result.exit_code == 2 and str(bad) in result.output and "Traceback" not in result.output


def test_a_scaffold_that_needs_a_model_refuses_model_none(tmp_path: Path):
    suite = make_suite(tmp_path / "suite", ["good-a"])
    result = CliRunner().invoke(main, ["--suite", str(suite), "run", "--scaffold", "core-agent", "--model", "none",
                                       "--store", str(tmp_path / "r.sqlite")])
    assert result.exit_code == 2 and "--model" in result.output and "needs a model" in result.output


@pytest.mark.docker
def test_core_agent_with_a_model_over_http_records_usage_and_cost(tmp_path: Path, monkeypatch):
    from corebench_scripted.messages_api import MessagesServer
    from support_messages import PRICED_MODEL, TEST_KEY, reply, tool_use

    suite = make_suite(tmp_path / "suite", ["good-a", "good-b"])
    store = tmp_path / "results.sqlite"
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
    with MessagesServer(api_key=TEST_KEY) as server:
        server.add(*[reply(tool_use("submit", answers=RIGHT)) for _ in range(2)])
        result = CliRunner().invoke(main, [
            "--suite", str(suite), "run", "--scaffold", "core-agent", "--model", f"anthropic:{PRICED_MODEL}",
            "--base-url", server.url, "--all", "--store", str(store), "--concurrency", "2"])
        assert result.exit_code == 0, result.output
        assert len(server.requests) == 2  # one model call per task, through the real SDK over HTTP
    shown = show_json(CliRunner(), store, "")
    assert shown["run"]["model"] == f"anthropic:{PRICED_MODEL}" and shown["run"]["accuracy"] == 1.0
    prompt_tokens = [t["input_tokens"] + t["cache_creation_input_tokens"] + t["cache_read_input_tokens"]
                     for t in shown["tasks"]]
    assert all(n > 0 for n in prompt_tokens) and all(t["cost_usd"] > 0 for t in shown["tasks"])
    assert shown["run"]["cost_usd"] == pytest.approx(sum(t["cost_usd"] for t in shown["tasks"]))
    with open_store(store) as opened:
        usage = opened.query("SELECT model, cost_usd FROM usage")
    assert len(usage) == 2 and all(row["model"] == f"anthropic:{PRICED_MODEL}" for row in usage)
    assert sum(row["cost_usd"] for row in usage) == pytest.approx(shown["run"]["cost_usd"])  # one row per call


def test_all_leaves_out_broken_capsules_and_says_why(tmp_path: Path):
    from corebench_runner.capsules.suite import Suite
    from corebench_runner.running.run import select_capsules

    suite = make_suite(tmp_path / "suite", ["good-a", "good-b"])
    toml = suite / "capsules" / "good-b" / "capsule.toml"
    toml.write_text(toml.read_text().replace('gpu = "none"', 'gpu = "sometimes"'))
    capsules, notes = select_capsules(Suite(suite), None, "hard")
    assert [c.id for c in capsules] == ["good-a"]
    assert len(notes) == 1 and notes[0].startswith("left out good-b:") and "gpu" in notes[0]


def test_the_local_sandbox_runs_tasks_in_their_own_folders(tmp_path: Path):
    suite = make_suite(tmp_path / "suite", ["good-a", "wrong-a", "good-b"])
    store = tmp_path / "results.sqlite"
    runner = CliRunner()
    result = _run(runner, suite, store, "--all", "--sandbox", "local", "--concurrency", "3", "--quiet")
    assert result.exit_code == 0, result.output
    tasks = show_json(runner, store, "")["tasks"]
    assert {t["capsule_id"]: t["outcome"] for t in tasks} == {"good-a": "correct", "good-b": "correct",
                                                               "wrong-a": "incorrect"}
    assert not Path("/workspace/report.json").exists()  # never the host's /workspace
    with open_store(store) as opened:
        produced = opened.artifacts_dir / tasks[0]["artifacts_dir"]
    assert (produced / "results" / "made_by_agent.txt").read_text() == "produced good"


@pytest.mark.docker
def test_a_capsule_that_allows_it_runs_its_agent_unprivileged(tmp_path: Path):
    suite = make_suite(tmp_path / "suite", ["good-a", "good-b"])
    toml = suite / "capsules" / "good-a" / "capsule.toml"
    toml.write_text('agent_user = "agent"\n' + toml.read_text())
    store = tmp_path / "results.sqlite"
    runner = CliRunner()
    result = _run(runner, suite, store, "--all", "--concurrency", "2", "--level", "hard", "--quiet")
    assert result.exit_code == 0, result.output
    tasks = {t["capsule_id"]: t for t in show_json(runner, store, "")["tasks"]}
    assert {c: t["outcome"] for c, t in tasks.items()} == {"good-a": "correct", "good-b": "correct"}
    with open_store(store) as opened:
        uid = {c: (opened.artifacts_dir / t["artifacts_dir"] / "results" / "uid.txt").read_text().strip()
               for c, t in tasks.items()}
    # uid 1000 is the base images' `agent`; a capsule that says nothing keeps root (apt-get works).
    assert uid == {"good-a": "1000", "good-b": "0"}


SPENDER_SCAFFOLD = '''
"""Calls the model once per attempt; the first attempt then crashes, the second answers (and,
sloppily, reports no usage of its own)."""
import json
from pathlib import Path

from corebench_runner.records import Submission

RIGHT = %(right)s


class Spender:
    name = "spender"
    version = "1"
    needs_model = True

    def run(self, task, sandbox, model, limits):
        response = model.complete("be brief", [{"role": "user", "content": task.prompt}])
        marker = Path(%(state)r) / (task.capsule_id + ".tried")
        if not marker.exists():
            marker.write_text("1")
            raise RuntimeError("the engine went away after a billed call (simulated)")
        sandbox.write_file(task.report_path, json.dumps(RIGHT))
        transcript = [{"type": "model_call", "usage": vars(response.usage).copy()}]
        return Submission(answers=RIGHT, transcript=transcript, steps=1)


SCAFFOLD = Spender()
'''


def test_model_usage_of_a_crashed_attempt_is_charged_to_its_task(tmp_path: Path, monkeypatch):
    """A retried attempt's model calls were billed: the task's tokens, cost and usage rows include them,
    and so do the calls of a scaffold that does not report its own usage."""

    suite = make_suite(tmp_path / "suite", ["good-a"])
    (tmp_path / "state").mkdir()
    (suite / "scaffolds" / "spender.py").write_text(SPENDER_SCAFFOLD % {"right": repr(RIGHT),
                                                                        "state": str(tmp_path / "state")})
    script = tmp_path / "script.json"
    reply = {"content": [{"type": "text", "text": "ok"}],
             "usage": {"input_tokens": 1000, "output_tokens": 100}}
    script.write_text(json.dumps({"model": "claude-haiku-4-5", "steps": [reply]}))
    store = tmp_path / "results.sqlite"
    runner = CliRunner()
    result = runner.invoke(main, ["--suite", str(suite), "run", "--scaffold", "spender", "--model",
                                  f"scripted:{script}", "--sandbox", "local", "--all", "--quiet",
                                  "--store", str(store)])
    assert result.exit_code == 0, result.output
    (task,) = show_json(runner, store, "")["tasks"]
    assert task["outcome"] == "correct"
    # Two billed calls of 1000 in / 100 out: the crashed attempt's and the counted one's.
    assert (task["input_tokens"], task["output_tokens"]) == (2000, 200)
    price = find_price("claude-haiku-4-5", load_prices())
    one_call = price.cost(Usage(input_tokens=1000, output_tokens=100))
    assert task["cost_usd"] == pytest.approx(2 * one_call)
    with open_store(store) as opened:
        rows = opened.query("SELECT input_tokens, cost_usd FROM usage")
        (details,) = [json.loads(r["details_json"]) for r in opened.query("SELECT details_json FROM tasks")]
    assert details["infra_attempts"] == 2
    assert sum(r["input_tokens"] for r in rows) == 2000
    assert sum(r["cost_usd"] for r in rows) == pytest.approx(2 * one_call)


def test_no_docker_engine_is_one_line_and_no_run(tmp_path: Path, monkeypatch):
    """A user whose engine does not answer is told what to fix; nothing is recorded as a run."""
    from corebench_runner.sandbox.docker.engine import docker_client

    docker_client.cache_clear()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    store = tmp_path / "results.sqlite"
    try:
        result = CliRunner().invoke(main, ["run", "--scaffold", "oracle", "--model", "none", "--capsules", "iris-lda",
                                           "--store", str(store), "--quiet"])
    finally:
        docker_client.cache_clear()
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [result.output.strip()]
    # The engine is the one DOCKER_HOST names, so the message names DOCKER_HOST, not the local engine.
    assert f"the Docker engine at DOCKER_HOST=unix://{tmp_path}/no-engine.sock is not answering" in result.output
    assert "point DOCKER_HOST at a running engine, or unset it" in result.output
    assert not store.exists()  # refused before a run was planned: no empty store left behind


@pytest.mark.docker
def test_a_run_shows_the_environment_build_it_waits_for(tmp_path: Path, monkeypatch, request):
    """Level medium needs the capsule's own image; building it must not look like a hung run."""
    from corebench_runner.capsules.suite import Suite
    from corebench_runner.images import environment_tag
    from corebench_runner.sandbox.docker.engine import docker_client

    monkeypatch.setenv("COREBENCH_BUILD_DIR", str(tmp_path / "builds"))
    suite = tmp_path / "suite"
    folder = write_capsule(suite / "capsules", "runbuild")
    token = secrets.token_hex(4)  # new content: a real build, not the cache
    (folder / "environment" / "Dockerfile").write_text(
        f"FROM corebench/python:bookworm\nRUN echo started {token} && sleep 2 && echo finished {token}\n")
    tag = environment_tag(Suite(suite).load("runbuild"))
    request.addfinalizer(lambda: docker_client().images.remove(tag, force=True))
    store = tmp_path / "results.sqlite"
    runner = CliRunner()
    args = ["--suite", str(suite), "run", "--scaffold", "oracle", "--model", "none", "--level", "medium",
            "--capsules", "runbuild", "--store", str(store)]

    # Two repeats start together: one builds, the other waits for that image.
    result = runner.invoke(main, [*args, "--repeats", "2", "--concurrency", "2"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    starts = [n for n, line in enumerate(lines) if line.startswith("building the environment of capsule runbuild")]
    assert len(starts) == 1, result.stderr
    log = Path(lines[starts[0]].split("(log: ")[1].rstrip(")"))
    assert f"finished {token}" in log.read_text()
    assert any(line.startswith("  runbuild: Step 2/") and token in line for line in lines), result.stderr
    (built,) = [n for n, line in enumerate(lines) if line.startswith(f"built {tag} in ")]
    first_done = next(n for n, line in enumerate(lines) if line.startswith("[1/2] runbuild"))
    assert starts[0] < built < first_done  # the build shows while the run waits, not after
    assert len(lines) < 20  # steps, not the build's whole output
    shown = show_json(runner, store, "")
    assert shown["run"]["status"] == "finished"
    assert [t["outcome"] for t in shown["tasks"]] == ["correct", "correct"]

    # --quiet: the same build again, and not a line of it: only the run's id, when the run ends.
    docker_client().images.remove(tag, force=True)
    result = runner.invoke(main, [*args, "--quiet"])
    assert result.exit_code == 0 and re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{6}\n", result.output), result.output
    assert docker_client().images.get(tag)


@pytest.mark.docker
def test_a_run_names_the_log_of_an_environment_build_that_failed(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("COREBENCH_BUILD_DIR", str(tmp_path / "builds"))
    suite = tmp_path / "suite"
    folder = write_capsule(suite / "capsules", "badbuild")
    token = secrets.token_hex(4)
    (folder / "environment" / "Dockerfile").write_text(f"FROM corebench/python:bookworm\nRUN echo {token} && false\n")
    runner = CliRunner()
    store = tmp_path / "results.sqlite"
    result = runner.invoke(main, ["--suite", str(suite), "run", "--scaffold", "oracle", "--model", "none",
                                  "--level", "medium", "--capsules", "badbuild", "--store", str(store)])
    assert result.exit_code == 0, result.output
    (failed,) = [line for line in result.stderr.splitlines()
                 if line.startswith("building the environment of capsule badbuild") and " failed: " in line]
    log = Path(failed.rsplit("; check ", 1)[1])
    assert token in log.read_text()
    assert show_json(runner, store, "")["tasks"][0]["outcome"] == "infra_error"


# A scaffold plugin that builds its own agent layer on the task's image, as an agent CLI's does.
LAYERED_SCAFFOLD = '''
import json
import tempfile
from pathlib import Path

from corebench_runner.agents.contract import ScaffoldBase
from corebench_runner.images.build import run_build
from corebench_runner.records import Submission

RIGHT = %(right)r
TAG = %(tag)r


class Layered(ScaffoldBase):
    name = "layered"
    version = "1"
    needs_model = False

    def image_for(self, task_image):
        context = Path(tempfile.mkdtemp())
        (context / "Dockerfile").write_text(f"FROM {task_image}\\nLABEL layered.token=%(token)s\\n")
        run_build(context, TAG, context / "log", what=f"the layered agent layer on {task_image}")
        return TAG

    def run(self, task, sandbox, model, limits):
        sandbox.write_file(task.report_path, json.dumps(RIGHT))
        return Submission(answers=RIGHT, transcript=[])


SCAFFOLD = Layered()
'''


@pytest.mark.docker
def test_a_run_shows_an_agent_layer_the_scaffold_builds(tmp_path: Path, request):
    from corebench_runner.sandbox.docker.engine import docker_client

    suite = make_suite(tmp_path / "suite", ["good-a"])
    token = secrets.token_hex(4)  # a new layer: a real build
    tag = f"corebench/layered-test:{token}"
    (suite / "scaffolds" / "layered.py").write_text(LAYERED_SCAFFOLD % {"right": RIGHT, "tag": tag, "token": token})
    request.addfinalizer(lambda: docker_client().images.remove(tag, force=True))
    runner = CliRunner()
    store = tmp_path / "results.sqlite"
    result = runner.invoke(main, ["--suite", str(suite), "run", "--scaffold", "layered", "--level", "hard",
                                  "--capsules", "good-a", "--store", str(store)])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert any(line.startswith("building the layered agent layer on ") and "(log: " in line for line in lines)
    assert any(line.startswith("  good-a: Step 2/2 : LABEL") and token in line for line in lines), result.stderr
    built = next(n for n, line in enumerate(lines) if line.startswith(f"built {tag} in "))
    assert built < next(n for n, line in enumerate(lines) if line.startswith("[1/1] good-a"))
    assert show_json(runner, store, "")["tasks"][0]["outcome"] == "correct"
