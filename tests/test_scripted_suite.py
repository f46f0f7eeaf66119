"""Scripted runs over a whole suite, as a user types them: a folder of sessions keyed by capsule id,
a malformed step caught before the run starts, and what the progress shows in a log.

Real engine, real core-agent through the real anthropic SDK against the local Messages server,
the local sandbox (no Docker needed), a real SQLite store.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.errors import UserError
from corebench_runner.models.names import display_name
from corebench_runner.running.progress import Progress
from corebench_scripted.sessions import check_session_file, session_file
from support_run import RIGHT, make_suite

MEAN = "Report the mean petal length, rounded to 4 decimal places."


def session(answers: dict, run_code: bool = True) -> dict:
    steps = []
    if run_code:
        steps.append({"content": [{"type": "tool_use", "name": "bash",
                                   "input": {"command": "python3 code/analysis.py && cat results/summary.json"}}]})
    steps.append({"content": [{"type": "tool_use", "name": "submit", "input": {"answers": answers}}]})
    return {"model": "scripted", "steps": steps}


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    return make_suite(tmp_path / "suite", ["good-a", "good-b", "good-c"])


def run(suite: Path, store: Path, model: str, *extra: str):
    return CliRunner().invoke(main, ["--suite", str(suite), "run", "--scaffold", "core-agent", "--model", model,
                                     "--sandbox", "local", "--all", "--store", str(store), "--concurrency", "1",
                                     *extra])


def test_a_folder_of_sessions_plays_each_capsule_its_own_and_the_rest_the_default(suite, tmp_path):
    sessions = tmp_path / "my-sessions"
    sessions.mkdir()
    (sessions / "good-a.json").write_text(json.dumps(session(RIGHT)))
    (sessions / "default.json").write_text(json.dumps(session({**RIGHT, MEAN: 9.99})))
    store = tmp_path / "results.sqlite"
    result = run(suite, store, f"scripted:{sessions}", "--quiet")
    assert result.exit_code == 0, result.output
    shown = json.loads(CliRunner().invoke(main, ["show", "--json", "--store", str(store),
                                                 json.loads(CliRunner().invoke(main, ["runs", "--json", "--store",
                                                                                      str(store)]).output)[0]["id"]]).output)
    outcomes = {t["capsule_id"]: t["outcome"] for t in shown["tasks"]}
    assert outcomes == {"good-a": "correct", "good-b": "incorrect", "good-c": "incorrect"}
    # `runs` shows the folder's name, not its whole path.
    table = CliRunner().invoke(main, ["runs", "--store", str(store)]).output
    assert "scripted:my-sessions " in table and str(tmp_path) not in table


def test_a_folder_without_a_session_for_a_capsule_is_refused_before_the_run(suite, tmp_path):
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    (sessions / "good-a.json").write_text(json.dumps(session(RIGHT)))
    store = tmp_path / "results.sqlite"
    result = run(suite, store, f"scripted:{sessions}", "--quiet")
    assert result.exit_code == 2
    assert result.output.strip() == (f"error: --model scripted:{sessions}: the folder has no good-b.json or "
                                     "default.json; add a session for capsule good-b (or a default.json for every "
                                     "capsule)")
    assert not store.exists()  # refused before it started: no run recorded, no empty store left


@pytest.mark.parametrize("bad_step, problem", [
    ({"content": "I will run the code."},
     '"content" must be a list of blocks, e.g. [{"type": "text", "text": "..."}], not "I will run the code."'),
    ({"content": [{"type": "tool_use", "input": {"command": "ls"}}]}, 'block 1 (tool_use) needs "name" as a string'),
    ({"content": [{"type": "tool_use", "name": "bash", "input": "ls"}]}, 'block 1 (tool_use) needs "input" as an object'),
    ({"content": [{"text": "hi"}]}, 'block 1 must have "type" text, thinking, tool_use, custom_tool_use, not null'),
    ({"error": {"status": "529"}}, 'error "status" must be a whole number'),
    ({"content": [{"type": "text", "text": "a"}], "error": {"status": 500}},
     'needs exactly one of "content" (a reply) or "error" (an API error)'),
])
def test_a_malformed_step_is_one_line_before_the_run_and_a_non_zero_exit(suite, tmp_path, bad_step, problem):
    steps = session(RIGHT)["steps"]
    script = tmp_path / "broken.json"
    script.write_text(json.dumps({"steps": [steps[0], bad_step, steps[1]]}))
    store = tmp_path / "results.sqlite"
    result = run(suite, store, f"scripted:{script}")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"error: {script}: step 2 of 3: {problem} (see docs/models.md)"]
    assert not store.exists()  # refused before it started: no run recorded, no empty store left


def test_without_a_terminal_each_finished_task_is_one_line(suite, tmp_path):
    script = tmp_path / "right.json"
    script.write_text(json.dumps(session(RIGHT)))
    result = run(suite, tmp_path / "results.sqlite", f"scripted:{script}")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("[")]
    assert len(lines) == 3, result.output
    for number, line in enumerate(lines, 1):
        words = line.split()
        assert words[0] == f"[{number}/3]" and words[1] in ("good-a", "good-b", "good-c")
        assert words[2] == "correct" and words[3].endswith("s") and words[4] == "$0.00"
    assert "\r" not in result.output  # no redrawn bar frames in a log


def test_session_files_and_names():
    assert display_name("scripted:/home/me/work/docs/examples/iris-lda.session.json") == "scripted:iris-lda.session"
    assert display_name("anthropic:claude-sonnet-4-6") == "anthropic:claude-sonnet-4-6"
    with pytest.raises(UserError, match="no such file"):
        check_session_file(Path("/nonexistent/session.json"))
    assert session_file(Path("docs/examples/iris-lda.session.json"), "anything").name == "iris-lda.session.json"


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as a person's stderr does."""

    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_bar_names_the_running_capsules():
    out = Terminal()
    progress = Progress(total=5, stream=out)
    for capsule_id in ("alpha", "beta", "gamma", "delta"):
        progress.task_started(capsule_id)
    assert "running=alpha, beta, gamma +1" in out.getvalue()
    progress.task_done("correct", 0.5, "beta", 12.0)
    progress.close()
    last = out.getvalue().split("\r")[-1]
    assert "1/5" in last and "acc=100%" in last and "running=alpha, gamma, delta" in last
    assert "[1/5]" not in out.getvalue()  # the one-line-per-task form is for logs only
