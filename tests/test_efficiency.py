"""Efficiency broken down, on a store made by a scripted core-agent run: time to the first run of the
capsule's code, setup against code time, turns, tool calls, tokens and dollars by phase, and the
share of the cost spent on tasks that failed; on `show` and on the run page."""

from __future__ import annotations

import csv
import json
import tomllib
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.report.data import slug
from corebench_runner.report.efficiency import run_efficiency
from corebench_runner.store.database import open_store
from support_report import render_site

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = [q["text"] for q in tomllib.loads((REPO / "capsules/iris-lda/capsule.toml").read_text())["questions"]]
RIGHT = {QUESTIONS[0]: 0.9912, QUESTIONS[1]: 3, QUESTIONS[2]: 2, QUESTIONS[3]: -2.8105}
USAGE = {"input_tokens": 1000, "output_tokens": 100}


def bash(command: str) -> dict:
    return {"content": [{"type": "tool_use", "name": "bash", "input": {"command": command}}], "usage": USAGE}


def session(path: Path, answers: dict) -> Path:
    path.write_text(json.dumps({"model": "claude-sonnet-4-6", "steps": [
        bash("ls -R /workspace | head -20"),
        bash("sleep 1; pip install --no-index --quiet no-such-package-xyz || true"),
        bash("sleep 1; Rscript code/iris_lda.R && cat results/lda.json"),
        {"content": [{"type": "tool_use", "name": "submit", "input": {"answers": answers}}], "usage": USAGE}]}))
    return path


def run(tmp_path: Path, store_path: Path, answers: dict) -> str:
    script = session(tmp_path / f"s{len(answers)}{answers[QUESTIONS[2]]}.json", answers)
    result = CliRunner().invoke(main, ["--suite", str(REPO), "run", "--model", f"scripted:{script}", "--scaffold",
                                       "core-agent", "--capsules", "iris-lda", "--store", str(store_path), "--quiet"])
    assert result.exit_code == 0, result.output
    with open_store(store_path, create=False) as store:
        return store.query("SELECT id FROM runs ORDER BY created DESC, rowid DESC LIMIT 1")[0]["id"]


@pytest.mark.docker
def test_a_scripted_run_broken_down_by_phase(tmp_path):
    store_path = tmp_path / "results.sqlite"
    right = run(tmp_path, store_path, RIGHT)
    wrong = run(tmp_path, store_path, {**RIGHT, QUESTIONS[2]: 7})
    with open_store(store_path, create=False) as store:
        found = run_efficiency(store, right)
        failed = run_efficiency(store, wrong)
    [task] = found.tasks
    assert (task.turns, task.tool_calls) == (4, 4)
    assert task.tokens_by_phase == {"explore": 1100, "setup": 1100, "code": 1100, "report": 1100, "answer": 0,
                                   "unknown": 0}
    assert task.setup_seconds >= 1 and task.code_seconds >= 1  # each of those commands slept a second
    assert task.first_code_run_seconds is not None and task.first_code_run_seconds >= 1  # after the install
    costs = task.cost_by_phase
    assert costs["setup"] == pytest.approx(task.cost_usd / 4) and task.cost_usd > 0  # priced model
    assert found.failed_cost_share == 0.0 and failed.failed_cost_share == 1.0

    shown = CliRunner().invoke(main, ["show", wrong, "--store", str(store_path)]).output
    assert "efficiency: 4 turns, 4 tool calls; code first ran after" in shown
    assert "tokens by phase: explore 1100, setup 1100, code 1100, report 1100" in shown
    assert "spent on tasks that failed: 100%" in shown

    site = render_site(store_path, tmp_path / "site")
    page = BeautifulSoup((site / "runs" / f"{slug(right)}.html").read_text(), "html.parser")
    exported = json.loads((site / "measures.json").read_text())["runs"]
    assert exported[wrong]["efficiency"]["failed_cost_share"] == 1.0
    assert exported[right]["efficiency"]["tokens_by_phase"]["code"] == 1100
    rows = list(csv.DictReader((site / "efficiency.csv").open()))
    assert {r["run_id"] for r in rows} == {right, wrong} and rows[0]["tokens_setup"] == "1100"
    phases = {tr["data-phase"]: tr.select("td")[1].text for tr in page.select("#efficiency-phases tbody tr")}
    assert phases["setup"] == "1100" and phases["answer"] == "0"
    assert "0%" in page.select_one("#efficiency-run").text
