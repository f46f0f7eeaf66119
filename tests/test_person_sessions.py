"""`corebench session`: a person (played by tmux send-keys) takes a task in its container, alone or
driving a scripted agent CLI (Claude Code, Codex, OpenCode); the session is graded, recorded as a run and shown on the site."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import docker
import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.report.data import slug
from corebench_runner.store.database import open_store
from corebench_runner.store.results import run_summary
from support_agents import session_file, step
from support_report import render_site

REPO = Path(__file__).resolve().parents[1]
CORE = Path(sys.executable).parent / "corebench"
CAPSULE = "iris-lda"
RESULTS = "results/lda.json"
# The person's way to the report: the code's output file, read by key, under the questions' own text.
WRITE_REPORT = (
    "python3 -c \"import json; r=json.load(open('results/lda.json')); "
    "q=[l[2:].strip() for l in open('/tmp/corebench-session/task.txt') if l.startswith('- ')]; "
    "v=[r['proportion_of_trace']['LD1'], r['resubstitution_errors'], r['versicolor_as_virginica'], "
    "r['scaling_LD1']['Petal_Width']]; json.dump(dict(zip(q, v)), open('report.json', 'w'))\"")

WRITE_REPORT_IN_R = (
    "Rscript -e 'r <- jsonlite::fromJSON(\"results/lda.json\"); "
    "q <- trimws(substring(grep(\"^- \", readLines(\"/tmp/corebench-session/task.txt\"), value = TRUE), 3)); "
    "v <- list(r$proportion_of_trace$LD1, r$resubstitution_errors, r$versicolor_as_virginica, "
    "r$scaling_LD1$Petal_Width); names(v) <- q; "
    "jsonlite::write_json(v, \"report.json\", auto_unbox = TRUE, digits = NA)'")


class Tmux:
    """A command on a tmux pane: typed into with send-keys, read with capture-pane."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.name = f"cbr-session-{secrets.token_hex(4)}"
        exports = " ".join(f"{k}={_quote(v)}" for k, v in env.items())
        line = f"env {exports} {' '.join(_quote(c) for c in command)}; echo EXITED-$?; sleep 600"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "200", "-y", "50", line], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-J", "-S", "-2000", "-t", self.name],
                              capture_output=True, text=True).stdout

    def wait_for(self, text: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            if "EXITED-" in shown:
                raise AssertionError(f"the command ended before showing {text!r}:\n{shown}")
            time.sleep(0.5)
        raise AssertionError(f"waited {timeout:g}s for {text!r}; the pane shows:\n{self.screen()}")

    def type(self, keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", keys], check=True)
        subprocess.run(["tmux", "send-keys", "-t", self.name, "Enter"], check=True)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _env() -> dict[str, str]:
    return {"PYTHONPATH": os.environ.get("PYTHONPATH", str(REPO)), "COREBENCH_SUITE": str(REPO), "TERM": "xterm"}


def _task_events(store_path: Path, run_id: str) -> list[dict]:
    with open_store(store_path, create=False) as store:
        row = store.query("SELECT transcript_path FROM tasks WHERE run_id = ?", (run_id,))[0]
        transcript = json.loads((store.artifacts_dir / row["transcript_path"]).read_text())
    return transcript if isinstance(transcript, list) else transcript.get("events", [])


def _session_run(store_path: Path) -> dict:
    with open_store(store_path, create=False) as store:
        [run] = store.query("SELECT * FROM runs")
        return dict(run)


def _no_containers_of(run_id: str) -> None:
    left = docker.from_env().containers.list(all=True, filters={"label": f"corebench.run={run_id}"})
    assert not left, f"containers left behind: {[c.name for c in left]}"


@pytest.fixture
def pane_factory():
    panes: list[Tmux] = []

    def start(args: list[str]) -> Tmux:
        pane = Tmux([str(CORE), *args], _env())
        panes.append(pane)
        return pane

    yield start
    for pane in panes:
        pane.close()


@pytest.mark.docker
@pytest.mark.slow
def test_a_person_takes_a_task_and_the_session_is_graded_and_shown(tmp_path, pane_factory):
    store_path = tmp_path / "results.sqlite"
    pane = pane_factory(["session", CAPSULE, "--person", "alice", "--level", "hard", "--time-limit", "600",
                         "--store", str(store_path)])
    shown = pane.wait_for("left] ", timeout=180)
    assert "Report the number of versicolor flowers" in shown  # the task's questions, on screen
    assert "submit" in shown and re.search(r"\[(10:00|9:\d\d) left\] agent:/workspace\$", shown)  # the clock
    pane.type("submit")
    pane.wait_for("report.json is missing or empty")  # nothing handed in yet: the session goes on
    pane.type(f"Rscript code/iris_lda.R > /dev/null && cat {RESULTS}")
    pane.wait_for('"versicolor_as_virginica": 2')
    pane.type(WRITE_REPORT)
    pane.type("submit")
    shown = pane.wait_for("EXITED-", timeout=120)
    assert "EXITED-0" in shown, shown
    assert "accuracy 100.0%" in shown and "scaffold human " in shown

    run = _session_run(store_path)
    assert run["scaffold"] == "human"
    assert json.loads(run["config_json"])["session"]["person"] == "alice"
    with open_store(store_path, create=False) as store:
        summary = run_summary(store, run["id"])
        [task] = store.query("SELECT outcome, seconds, steps FROM tasks WHERE run_id = ?", (run["id"],))
    assert task["outcome"] == "correct" and summary.verified_accuracy == 1.0  # no monitor doubts: values were shown
    assert 0 < task["seconds"] < 600
    events = _task_events(store_path, run["id"])
    commands = [e["input"]["command"] for e in events if e.get("type") == "tool_call"]
    assert commands[0] == "submit" and commands[1].startswith("Rscript code/iris_lda.R")
    ran = next(e for e in events if e.get("type") == "tool_call" and e["input"]["command"].startswith("Rscript"))
    assert '"resubstitution_errors": 3' in ran["output"]  # the command's own output, cut from the typescript
    _no_containers_of(run["id"])

    site = render_site(store_path, tmp_path / "site")
    page = (site / "runs" / f"{slug(run['id'])}.html").read_text()
    assert "human" in page and "correct" in page
    study = (site / "study.html").read_text()
    assert "<td>alice</td><td>iris-lda</td><td>human</td>" in study and "correct (verified)" in study


# The name each agent's shell tool has in the recorded transcript.
SHELL_TOOL = {"claude-code": "Bash", "codex": "shell", "opencode": "bash"}


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("agent", ["claude-code", "codex", "opencode"])
def test_a_person_drives_a_scripted_agent_cli_in_the_session(tmp_path, pane_factory, agent):
    questions = [q["text"] for q in tomllib.loads((REPO / "capsules" / CAPSULE / "capsule.toml").read_text())["questions"]]
    assert questions
    steps = [step(agent, "I will run the analysis.", f"Rscript code/iris_lda.R > /dev/null && cat {RESULTS}"),
             step(agent, "Writing the report.", WRITE_REPORT.replace("report.json", "/workspace/report.json")),
             step(agent, "The report is written."),
             step(agent, "It holds four answers.")]
    script = session_file(tmp_path, agent, steps)
    store_path = tmp_path / "results.sqlite"
    images_before = {t for i in docker.from_env().images.list() for t in i.tags}
    pane = pane_factory(["session", CAPSULE, "--person", "bob", "--with-agent", agent,
                         "--model", f"scripted:{script}", "--time-limit", "600", "--store", str(store_path)])
    try:
        shown = pane.wait_for("left] ", timeout=600)  # the agent's layer may be built first
        assert "ask-agent" in shown
        pane.type("ask-agent 'Reproduce the analysis and write report.json'")
        pane.wait_for("The report is written.", timeout=180)  # the agent's words, shown to the person
        pane.type("ask-agent 'How many answers does it hold?'")  # goes on with the same conversation
        pane.wait_for("It holds four answers.", timeout=180)
        pane.type("cat report.json")
        pane.wait_for("Petal.Width in the first linear discriminant")
        pane.type("submit")
        shown = pane.wait_for("EXITED-", timeout=120)
        assert "EXITED-0" in shown, shown
    finally:
        client = docker.from_env()
        for image in client.images.list():
            for tag in image.tags:
                if tag.startswith(f"corebench/agent-{agent}:") and tag not in images_before:
                    client.images.remove(tag, noprune=False)

    run = _session_run(store_path)
    assert run["scaffold"] == f"human+{agent}"
    with open_store(store_path, create=False) as store:
        summary = run_summary(store, run["id"])
        [task] = store.query("SELECT outcome, cost_usd FROM tasks WHERE run_id = ?", (run["id"],))
    assert task["outcome"] == "correct" and summary.verified_accuracy == 1.0
    assert task["cost_usd"] and task["cost_usd"] > 0  # the relay metered the agent's calls
    events = _task_events(store_path, run["id"])
    # What the agent did comes right after the person's ask-agent, before the person's next command.
    asked = next(i for i, e in enumerate(events) if e.get("input", {}).get("command", "").startswith("ask-agent"))
    after = next(i for i, e in enumerate(events) if e.get("input", {}).get("command") == "cat report.json")
    agent_commands = [e["action"]["command"] for e in events[asked + 1:after]
                      if e.get("type") == "tool_call" and e.get("name") == SHELL_TOOL[agent]]
    assert agent_commands and "Rscript code/iris_lda.R" in agent_commands[0]  # Codex wraps it in bash -lc
    # The second ask-agent resumed the first one's conversation: the agent's own id, the same both times.
    conversations = [e["text"] for e in events if e.get("label") == "agent conversation"]
    assert len(conversations) == 2 and conversations[0] == conversations[1] and conversations[0], conversations
    assert any(e.get("type") == "model_call" for e in events)
    _no_containers_of(run["id"])

    site = render_site(store_path, tmp_path / "site")
    assert f"human+{agent}" in (site / "runs" / f"{slug(run['id'])}.html").read_text()


@pytest.mark.podman
@pytest.mark.slow
def test_a_person_takes_a_task_in_a_podman_container(tmp_path, pane_factory):
    """`--sandbox podman`: the shell is Podman's `exec -it` into a container of Podman's service, and the
    capsule's environment is built by Podman."""
    from support_docker import engine, require_image

    require_image(kind="podman")
    store_path = tmp_path / "results.sqlite"
    pane = pane_factory(["session", CAPSULE, "--person", "erin", "--level", "medium", "--sandbox", "podman",
                         "--time-limit", "600", "--store", str(store_path)])
    pane.wait_for("left] ", timeout=600)  # Podman may build the capsule's environment first
    pane.type(f"Rscript code/iris_lda.R > /dev/null && cat {RESULTS}")
    pane.wait_for('"versicolor_as_virginica": 2')
    pane.type("test -f /run/.containerenv && echo IN-A-PODMAN-CONTAINER")  # Podman marks its containers so
    pane.wait_for("\nIN-A-PODMAN-CONTAINER")
    pane.type(WRITE_REPORT_IN_R)  # the capsule's own environment has R, not Python
    pane.type("submit")
    shown = pane.wait_for("EXITED-", timeout=120)
    assert "EXITED-0" in shown and "accuracy 100.0%" in shown, shown
    run = _session_run(store_path)
    assert json.loads(run["config_json"])["options"]["sandbox"] == "podman"
    assert engine("podman").containers.list(all=True, filters={"label": f"corebench.run={run['id']}"}) == []
    _no_containers_of(run["id"])  # nothing on Docker either


@pytest.mark.docker
def test_closing_the_terminal_mid_session_removes_its_container(tmp_path, pane_factory):
    """The person closes the window (SIGHUP): the session ends as an interrupted run, its container gone."""
    store_path = tmp_path / "results.sqlite"
    pane = pane_factory(["session", CAPSULE, "--person", "fay", "--time-limit", "600", "--store", str(store_path)])
    pane.wait_for("left] ", timeout=180)
    run_id = _session_run(store_path)["id"]
    client = docker.from_env()
    assert client.containers.list(all=True, filters={"label": f"corebench.run={run_id}"})  # the session's own
    pane.close()  # tmux kill-session: the terminal is gone, its processes get SIGHUP
    deadline = time.monotonic() + 60
    while client.containers.list(all=True, filters={"label": f"corebench.run={run_id}"}):
        assert time.monotonic() < deadline, "the session's container outlived its closed terminal"
        time.sleep(1)
    while _session_run(store_path)["status"] == "running":  # the run is released after its containers go
        assert time.monotonic() < deadline, "the session's run was left running"
        time.sleep(1)
    assert _session_run(store_path)["status"] == "interrupted"


def test_a_session_on_a_sandbox_without_a_terminal_is_refused_in_one_line(tmp_path):
    result = CliRunner().invoke(main, ["session", CAPSULE, "--person", "dan", "--sandbox", "local",
                                       "--store", str(tmp_path / "results.sqlite")])
    assert result.exit_code == 2 and "--sandbox" in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.docker
def test_a_session_that_runs_out_of_time_is_recorded_as_timeout(tmp_path, pane_factory):
    store_path = tmp_path / "results.sqlite"
    pane = pane_factory(["session", CAPSULE, "--person", "carol", "--time-limit", "6", "--store", str(store_path)])
    pane.wait_for("left] ", timeout=180)
    shown = pane.wait_for("EXITED-", timeout=60)  # nobody typed submit: the clock ends the shell
    assert "timeout 1" in shown
    with open_store(store_path, create=False) as store:
        [task] = store.query("SELECT outcome, error FROM tasks")
    assert task["outcome"] == "timeout" and "time limit" in task["error"]


def test_a_session_without_a_terminal_is_refused_in_one_line(tmp_path):
    result = CliRunner().invoke(main, ["session", CAPSULE, "--person", "dan", "--store", str(tmp_path / "r.sqlite")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: corebench session needs a terminal: run it in a shell (or tmux), not with its input piped"]


def test_with_agent_needs_a_model(tmp_path):
    result = CliRunner().invoke(main, ["session", CAPSULE, "--person", "dan", "--with-agent", "codex",
                                       "--store", str(tmp_path / "r.sqlite")])
    assert result.exit_code == 2 and "--with-agent codex needs --model" in result.output
