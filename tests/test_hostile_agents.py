"""Hostile agents, through the real engine, real containers, the CLI and a real SQLite store.

One scaffold plugin plays each attack, chosen by the capsule id's first word:

    huge-*   writes a 20 MB report.json (one long answer)  -> invalid_report at once, nothing of it read
    escapes-* answers with terminal escapes (OSC title, OSC-8 link, CSI clear, C1 CSI) in an answer and
             in a command it ran -> every command that prints them spells them out
    chain-*  leaves a chain of relative links in results/ that climbs to the host's /etc/passwd
             -> the chain is dropped from the artifacts, links that stay inside are kept
"""

from __future__ import annotations

import json
import os
import time
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.store.database import open_store
from support_run import RIGHT, containers_of, make_suite, show_json

MEAN = "Report the mean petal length, rounded to 4 decimal places."
HUGE_BYTES = 20 * 1024 * 1024
# A window title, a link that hides where it leads, a cleared screen, and C1's one-byte CSI.
ESCAPES = "3.7\x1b]0;pwned\x07 \x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\ \x1b[2J\x1b[H \x9b31m"
RAW = ("\x1b", "\x07", "\x9b")

HOSTILE_SCAFFOLD = '''
"""Attacks the engine from inside its task, one way per capsule id (tests/test_hostile_agents.py)."""
import json

from corebench_runner.records import Submission, Usage

RIGHT = %(right)s
MEAN = %(mean)r
ESCAPES = %(escapes)r


class Hostile:
    name = "hostile"
    version = "1"
    needs_model = False

    def run(self, task, sandbox, model, limits):
        kind = task.capsule_id.split("-")[0]
        transcript = [{"type": "note", "kind": kind}]
        if kind == "huge":
            script = ("import json; json.dump({%(mean)r: 'petal ' * (%(huge)d // 6)}, "
                      "open('report.json', 'w'))")
            result = sandbox.exec(["python3", "-c", script], timeout=120, workdir=task.workspace_dir)
            transcript.append({"type": "command", "command": "python3 -c ...", "exit_code": result.exit_code})
        if kind == "escapes":
            answers = dict(RIGHT)
            answers[MEAN] = ESCAPES
            transcript.append({"type": "command", "command": "echo " + ESCAPES, "exit_code": 0,
                               "stdout_tail": "mean 3.7333 " + ESCAPES, "stderr_tail": ""})
            sandbox.write_file(task.report_path, json.dumps(answers))
        if kind == "chain":
            # l01 -> l02/.., ..., l20 -> .., l00 -> l01/etc/passwd: each link alone stays inside when unpacked
            links = [f"ln -s l{n + 1:02d}/.. results/l{n:02d}" for n in range(1, 20)]
            links += ["ln -s .. results/l20", "ln -s l01/etc/passwd results/l00", "mkdir -p results/sub",
                      "ln -s ../made_by_agent.txt results/sub/up", "ln -s made_by_agent.txt results/same"]
            sandbox.write_file(task.workspace_dir + "/results/made_by_agent.txt", "produced")
            sandbox.exec(" && ".join(links), timeout=60, workdir=task.workspace_dir)
            sandbox.write_file(task.report_path, json.dumps(RIGHT))
        return Submission(answers=None, transcript=transcript, steps=1,
                          usage=Usage(input_tokens=100, output_tokens=10, cost_usd=0.01, calls=1))


SCAFFOLD = Hostile()
'''


def _hostile_run(tmp_path: Path, capsule_ids: list[str]) -> tuple[dict, Path, Path]:
    """Run the hostile scaffold over the given capsules; (show --json by capsule, artifacts, store)."""
    from corebench_runner.cli import main

    suite = make_suite(tmp_path / "suite", capsule_ids)
    (suite / "scaffolds" / "hostile.py").write_text(
        HOSTILE_SCAFFOLD % {"right": repr(RIGHT), "mean": MEAN, "huge": HUGE_BYTES, "escapes": ESCAPES})
    store = tmp_path / "results.sqlite"
    runner = CliRunner()
    result = runner.invoke(main, ["--suite", str(suite), "run", "--scaffold", "hostile", "--all", "--level", "hard",
                                  "--concurrency", "2", "--quiet", "--store", str(store)])
    assert result.exit_code == 0, result.output
    shown = show_json(runner, store, "")
    assert containers_of(shown["run"]["id"]) == []
    with open_store(store) as opened:
        artifacts = opened.artifacts_dir
    return {t["capsule_id"]: t for t in shown["tasks"]}, artifacts, store


@pytest.mark.docker
def test_a_20mb_report_is_refused_unread_in_seconds(tmp_path: Path):
    tracemalloc.start()
    started = time.monotonic()
    try:
        tasks, artifacts, _ = _hostile_run(tmp_path, ["huge-a"])
        seconds, peak = time.monotonic() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    task = tasks["huge-a"]
    assert task["outcome"] == "invalid_report"
    assert "report.json holds 2097" in task["error"] and "over the 1048576 byte cap" in task["error"], task["error"]
    assert seconds < 120 and peak < 100 * 1024 * 1024, (seconds, peak)  # the 20 MB never came over
    kept = artifacts / task["artifacts_dir"]
    assert not (kept / "report.json").exists() or (kept / "report.json").stat().st_size < 1024 * 1024


@pytest.mark.docker
def test_a_chain_of_relative_links_out_of_results_is_dropped_from_the_artifacts(tmp_path: Path):
    tasks, artifacts, _ = _hostile_run(tmp_path, ["chain-a"])
    task = tasks["chain-a"]
    assert task["outcome"] == "correct", task
    produced = artifacts / task["artifacts_dir"] / "results"
    assert (produced / "made_by_agent.txt").read_text() == "produced"
    root = os.path.realpath(produced)
    for folder, folders, files in os.walk(produced):
        for name in folders + files:
            resolved = os.path.realpath(os.path.join(folder, name))
            assert resolved == root or resolved.startswith(root + os.sep), (name, resolved)  # readlink -f
    assert not (produced / "l00").exists()  # the link that reached the host's /etc/passwd reaches nothing now
    assert os.readlink(produced / "sub" / "up") == "../made_by_agent.txt"  # links inside are kept as links
    assert (produced / "same").read_text() == "produced"


@pytest.mark.docker
def test_terminal_escapes_an_agent_wrote_are_spelled_out_by_every_command(tmp_path: Path):
    from corebench_runner.cli import main

    tasks, _, store = _hostile_run(tmp_path, ["escapes-a"])
    # "3.7" in a string of escapes: never correct (the dispute engine may send the rounding to a person).
    assert tasks["escapes-a"]["outcome"] in ("incorrect", "disputed")
    runner = CliRunner()
    printed = {}
    for command in (["show", ""], ["show", "", "--json"], ["runs"], ["runs", "--json"], ["review", "list"],
                    ["review", "log"]):
        result = runner.invoke(main, [*command, "--store", str(store)])
        assert result.exit_code == 0, result.output
        printed[" ".join(command)] = result.output
    review = runner.invoke(main, ["review", "--answer", _answer_id(store), "--store", str(store)], input="q\n")
    printed["review --answer"] = review.output
    for command, output in printed.items():
        assert not any(raw in output for raw in RAW), (command, output)
    assert "\\x1b]0;pwned\\x07" in printed["show "] and "\\x1b]8;;https://evil.example/" in printed["show "]
    assert "\\x9b31m" in printed["review --answer"]
    shown = json.loads(printed["show  --json"])  # still the same values, escaped the JSON way
    assert any(q.get("reported") == ESCAPES for t in shown["tasks"] for q in t["questions"])


def _answer_id(store: Path) -> str:
    with open_store(store) as opened:
        return str(opened.query("SELECT id FROM answers WHERE question LIKE 'Report the mean%'")[0]["id"])
