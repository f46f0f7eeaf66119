"""The exports carry the measures beyond accuracy: per task the efficiency breakdown, per run its
efficiency totals and calibration, per answer its confidence; through the real `corebench export`
and `corebench show --json` on a store whose one task has a timed transcript and confidences."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.store.database import open_store
from support_store import QA, SampleTask, add_run

REPO = Path(__file__).resolve().parents[1]
USAGE = {"input_tokens": 1000, "output_tokens": 100}
# setup (20 s of pip), then the capsule's reproduce command (8 s, started at 42 s), then a plain answer
TRANSCRIPT = [
    {"type": "model_call", "usage": USAGE},
    {"type": "tool_call", "name": "bash", "input": {"command": "pip install numpy"}, "output": "", "t": 30.0,
     "seconds": 20.0},
    {"type": "model_call", "usage": {"input_tokens": 2000, "output_tokens": 200}},
    {"type": "tool_call", "name": "bash", "input": {"command": "Rscript code/iris_lda.R"}, "output": "", "t": 50.0,
     "seconds": 8.0},
    {"type": "model_call", "usage": {"input_tokens": 500, "output_tokens": 0}},
]
RIGHT, WRONG, UNSURE = "Report the accuracy.", "Report the loss.", "Report the count."


@pytest.fixture
def store_run(tmp_path):
    path = tmp_path / "results.sqlite"
    with open_store(path) as store:
        run_id = add_run(store, [SampleTask("iris-lda", [QA(RIGHT, 0.99, [0.99], "correct"),
                                                          QA(WRONG, 7, [2], "incorrect"),
                                                          QA(UNSURE, 3, [3], "correct")],
                                            transcript=TRANSCRIPT, cost_usd=0.38)])
        with store.transaction() as conn:
            # the capsule's code is known from its suite, which the run's config names
            conn.execute("UPDATE runs SET config_json = json_set(config_json, '$.suite_root', ?)", (str(REPO),))
            for question, confidence in ((RIGHT, 0.9), (WRONG, 0.2)):  # UNSURE gets none
                conn.execute("UPDATE answers SET confidence = ? WHERE question = ?", (confidence, question))
    return path, run_id


def export(path: Path, run_id: str, *args: str) -> str:
    result = CliRunner().invoke(main, ["export", run_id, "--store", str(path), *args])
    assert result.exit_code == 0, result.output
    return result.output


def assert_task_breakdown(task: dict) -> None:
    assert task["first_code_run_seconds"] == 42.0
    assert (task["setup_seconds"], task["code_seconds"], task["turns"], task["tool_calls"]) == (20.0, 8.0, 3, 2)
    assert (task["tokens_setup"], task["tokens_code"], task["tokens_answer"], task["tokens_explore"]) == \
        (1100, 2200, 500, 0)
    assert task["cost_setup"] == pytest.approx(0.11) and task["cost_code"] == pytest.approx(0.22)
    assert task["cost_answer"] == pytest.approx(0.05)


def assert_calibration(calibration: dict) -> None:
    assert calibration["brier"] == pytest.approx(0.025)
    assert calibration["ece"] == pytest.approx(0.15)
    assert calibration["auroc"] == pytest.approx(1.0)
    assert (calibration["answers"], calibration["answers_with_confidence"],
            calibration["answers_without_confidence"]) == (3, 2, 1)


def test_csv_and_json_exports_carry_the_breakdown_and_the_calibration(store_run, tmp_path):
    path, run_id = store_run
    out = tmp_path / "results.json"
    export(path, run_id, "--format", "json", "--out", str(out))
    document = json.loads(out.read_text())
    [run], [task] = document["runs"], document["tasks"]
    assert_task_breakdown(task)
    assert_calibration(run["calibration"])
    assert run["efficiency"]["turns"] == 3 and run["efficiency"]["median_first_code_run_seconds"] == 42.0
    assert run["efficiency"]["tokens_by_phase"]["code"] == 2200
    assert run["efficiency"]["failed_cost_share"] == pytest.approx(1.0)  # the only task has a wrong answer

    csv_path = tmp_path / "results.csv"
    export(path, run_id, "--format", "csv", "--out", str(csv_path))
    [row] = pd.read_csv(csv_path).to_dict("records")
    assert_task_breakdown(row)


def test_hal_upload_keeps_the_measures_under_our_own_key(store_run, tmp_path):
    path, run_id = store_run
    out = tmp_path / "upload.json"
    export(path, run_id, "--format", "hal", "--out", str(out))
    upload = json.loads(out.read_text())
    measures = upload["corebench_measures"]
    assert_calibration(measures["calibration"])
    assert measures["efficiency"]["setup_seconds"] == 20.0
    assert_task_breakdown(measures["task_efficiency"]["iris-lda"])
    assert "raw_eval_results" in upload and "brier" not in upload["results"]  # HAL's own fields untouched


def test_confidence_per_answer_in_show_json_and_the_per_question_export(store_run, tmp_path):
    path, run_id = store_run
    result = CliRunner().invoke(main, ["show", run_id, "--json", "--store", str(path)])
    assert result.exit_code == 0, result.output
    [task] = json.loads(result.output)["tasks"]
    assert {q["question"]: q["confidence"] for q in task["questions"]} == {RIGHT: 0.9, WRONG: 0.2, UNSURE: None}

    out = tmp_path / "questions.parquet"
    export(path, run_id, "--format", "parquet", "--out", str(out))
    frame = pd.read_parquet(out)
    confidences = dict(zip(frame["question"], frame["confidence"]))
    assert (confidences[RIGHT], confidences[WRONG]) == (0.9, 0.2) and pd.isna(confidences[UNSURE])


def test_inspect_log_carries_the_measures(store_run, tmp_path):
    log_api = pytest.importorskip("inspect_ai.log", reason="pip install -e '.[test]' installs inspect_ai")
    path, run_id = store_run
    out = tmp_path / "run.eval"
    export(path, run_id, "--format", "inspect", "--out", str(out))
    log = log_api.read_eval_log(str(out))
    assert_calibration(log.eval.metadata["calibration"])
    assert log.eval.metadata["efficiency"]["code_seconds"] == 8.0
    [sample] = log.samples
    assert_task_breakdown(sample.metadata["efficiency"])
    confidences = {s.metadata["question"]: s.metadata["confidence"] for name, s in sample.scores.items()
                   if name != "task"}
    assert confidences == {RIGHT: 0.9, WRONG: 0.2, UNSURE: None}
