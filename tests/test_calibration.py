"""Confidence beside the report: asked in every prompt, stored per answer, scored per run (Brier, ECE,
AUROC), drawn on the run page, and never invented where the agent gave none."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.capsules import levels
from corebench_runner.capsules.suite import Suite
from corebench_runner.cli import main
from corebench_runner.report.data import slug
from corebench_runner.running.confidence import parse_confidence
from corebench_runner.store.calibration import run_calibration
from corebench_runner.store.database import open_store
from support_report import render_site

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = [q["text"] for q in tomllib.loads((REPO / "capsules/iris-lda/capsule.toml").read_text())["questions"]]
ANSWERS = {QUESTIONS[0]: 0.9912, QUESTIONS[1]: 3, QUESTIONS[2]: 5, QUESTIONS[3]: -2.8105}  # the third is wrong (2)
# The fourth question gets no confidence: it must stay missing.
CONFIDENCE = {QUESTIONS[0]: 0.9, QUESTIONS[1]: 0.8, QUESTIONS[2]: 0.3}


def bash(command: str, text: str = "") -> dict:
    return {"content": ([{"type": "text", "text": text}] if text else []) +
            [{"type": "tool_use", "name": "bash", "input": {"command": command}}]}


def write_file(path: str, data: dict) -> str:
    encoded = json.dumps(data).encode().hex()
    return f"python3 -c \"import binascii; open('{path}','wb').write(binascii.unhexlify('{encoded}'))\""


def test_every_prompt_asks_for_confidence_beside_the_report(tmp_path):
    capsule = Suite(REPO).load("iris-lda")
    for level in ("easy", "medium", "hard"):
        prompt = levels.prepare(capsule, level, tmp_path / level).task.prompt
        assert "/workspace/confidence.json" in prompt and "from 0 to 1" in prompt


def test_confidence_that_is_not_a_probability_is_counted_not_kept():
    found = parse_confidence(json.dumps({"a": 0.7, "b": 1.4, "c": "high"}).encode(), ("a", "b", "c", "d"))
    assert found["values"] == {"a": 0.7}
    assert found["problem"] == "2 not a number from 0 to 1; 1 question(s) without one"
    assert parse_confidence(None, ("a",)) == {"values": {}, "problem": "no confidence.json"}
    assert parse_confidence(b"[1]", ("a",))["values"] == {}


@pytest.mark.docker
def test_a_scripted_run_with_confidences_is_scored_and_drawn(tmp_path):
    script = tmp_path / "calibrated.session.json"
    script.write_text(json.dumps({"model": "scripted", "steps": [
        bash("Rscript code/iris_lda.R && cat results/lda.json", "Running the analysis."),
        bash(write_file("/workspace/confidence.json", CONFIDENCE), "How sure I am of each answer."),
        {"content": [{"type": "tool_use", "name": "submit", "input": {"answers": ANSWERS}}]}]}))
    store_path = tmp_path / "results.sqlite"
    result = CliRunner().invoke(main, ["--suite", str(REPO), "run", "--model", f"scripted:{script}", "--scaffold",
                                       "core-agent", "--capsules", "iris-lda", "--store", str(store_path), "--quiet"])
    assert result.exit_code == 0, result.output
    with open_store(store_path, create=False) as store:
        [run] = store.query("SELECT id FROM runs")
        run_id = run["id"]
        stored = {r["question"]: r["confidence"] for r in store.query("SELECT question, confidence FROM answers")}
        found = run_calibration(store, run_id)
        report = json.loads(next((store.artifacts_dir / run_id).rglob("report.json")).read_text())
    assert set(report) == set(QUESTIONS)  # the official rule's input: the question keys only
    assert stored == {**CONFIDENCE, QUESTIONS[3]: None}  # the missing one stays missing
    assert (found.answers, found.with_confidence, found.missing) == (4, 3, 1)
    assert found.brier == pytest.approx((0.1 ** 2 + 0.2 ** 2 + 0.3 ** 2) / 3)
    assert found.ece == pytest.approx((0.1 + 0.2 + 0.3) / 3)
    assert found.auroc == pytest.approx(1.0)  # the wrong answer got the lowest confidence

    shown = CliRunner().invoke(main, ["show", run_id, "--store", str(store_path)])
    assert "calibration: Brier 0.047   ECE 0.200   AUROC 1.000   over 3 answers (1 without a confidence" in shown.output

    site = render_site(store_path, tmp_path / "site")
    page = (site / "runs" / f"{slug(run_id)}.html").read_text()
    assert "Confidence and calibration" in page and "3 / 4" in page and "1 without a confidence" in page
    chart = site / "charts" / f"calibration-{slug(run_id)}.svg"
    assert chart.is_file() and "Reliability diagram" in chart.read_text()
    assert f"charts/calibration-{slug(run_id)}.svg" in page
    exported = json.loads((site / "measures.json").read_text())["runs"][run_id]["calibration"]
    assert (exported["with_confidence"], exported["missing"]) == (3, 1) and exported["auroc"] == 1.0


def test_a_run_without_confidences_says_so(tmp_path):
    from support_store import QA, SampleTask, add_run

    with open_store(tmp_path / "r.sqlite") as store:
        run_id = add_run(store, [SampleTask("cap", [QA("Q1", 1, [1, 1], "correct"), QA("Q2", 2, [1, 1], "incorrect")])])
        found = run_calibration(store, run_id)
    assert (found.answers, found.with_confidence, found.missing, found.brier) == (2, 0, 2, None)
    page = (render_site(tmp_path / "r.sqlite", tmp_path / "site") / "runs" / f"{slug(run_id)}.html").read_text()
    assert "No confidences: 2 of 2 answers came without one" in page
