"""What a user reads of an agent CLI's task (`corebench show RUN --task ID --transcript`): each model call
the relay forwarded sits between the turns it caused, at its time. Codex's `exec --json` lines carry no
times, so this holds only because the session times each line as it reads the stream: the real codex
binary in a real container, through the metering relay, against the local OpenAI server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from support_agents import report_command, run_cli, session_file, step
from support_capsules import write_capsule
from support_run import RIGHT

HEADING = re.compile(r"^\[(\d+)\] (.*)$")


def headings_with_first_line(text: str) -> list[tuple[str, str]]:
    """Each event's heading (without its number) and the first line under it."""
    found: list[tuple[str, str]] = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = HEADING.match(line)
        if match:
            after = lines[index + 1].strip() if index + 1 < len(lines) else ""
            found.append((match.group(2), after))
    return found


@pytest.mark.docker
@pytest.mark.slow
def test_codex_model_calls_are_shown_between_the_turns_they_caused(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    suite = tmp_path / "suite"
    write_capsule(suite / "capsules", "tiny")
    # Each answer takes half a second, as a real model's would: time enough to see where a turn begins.
    steps = [step("codex", "Counting the files first.", "ls code | wc -l"),
             step("codex", "Writing the report.", report_command(RIGHT)),
             step("codex", "I wrote /workspace/report.json.")]
    script = session_file(tmp_path, "codex", [{**s, "delay": 0.5} for s in steps])
    store = tmp_path / "results.sqlite"
    task, _ = run_cli(["--scaffold", "codex", "--model", f"scripted:{script}", "--capsules", "tiny",
                       "--level", "hard"], store, suite)
    assert task["outcome"] == "correct", task

    shown = CliRunner().invoke(main, ["show", _run_id(store), "--task", "tiny#0", "--transcript",
                                      "--store", str(store)])
    assert shown.exit_code == 0, shown.output
    events = headings_with_first_line(shown.output)
    # What the user reads, reduced to calls, what the agent said and the commands it ran, in order.
    story = []
    for heading, first in events:
        if heading.startswith("model call"):
            assert re.search(r"\(at \d+(\.\d+)? s", heading), heading  # a time from the task's start, never 0
            story.append("call")
        elif heading.startswith("assistant"):
            story.append(first)
        elif heading.startswith("shell"):  # codex runs each command through bash -lc
            story.append("$ ls" if "ls code | wc -l" in first else "$ write report" if "report.json" in first else first)
    assert story == ["call", "Counting the files first.", "$ ls",
                     "call", "Writing the report.", "$ write report",
                     "call", "I wrote /workspace/report.json."], shown.output
    times = [float(m) for m in re.findall(r"^\[\d+\] model call \(at (\d+(?:\.\d+)?) s", shown.output, re.M)]
    assert times == sorted(times) and times[0] > 0


def _run_id(store: Path) -> str:
    from corebench_runner.store.database import open_store
    from corebench_runner.store.results import list_runs

    with open_store(store, create=False) as opened:
        (run,) = list_runs(opened)
        return run.id
