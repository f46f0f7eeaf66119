"""`corebench export`: CSV and JSON tables, and a run in HAL's upload format."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.store.results import run_summary, task_details
from support_report import build_report_store


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    built = build_report_store(tmp_path_factory.mktemp("export") / "results.sqlite")
    yield built
    built.store.close()


def export(built, *args: str):
    return CliRunner().invoke(main, ["export", "--store", str(built.store.path), *args])


def test_csv_has_one_row_per_task_with_its_run(built):
    result = export(built)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == built.store.query("SELECT COUNT(*) AS n FROM tasks")[0]["n"]
    run_id = built.run_ids[0]
    mine = [r for r in rows if r["run_id"] == run_id]
    stored = built.store.query("SELECT * FROM tasks WHERE run_id = ?", (run_id,))
    assert sorted((r["capsule_id"], r["outcome"]) for r in mine) == sorted((t["capsule_id"], t["outcome"]) for t in stored)
    assert {r["model"] for r in mine} == {run_summary(built.store, run_id).model}


def test_csv_of_one_run_accepts_a_prefix_of_its_id(built):
    run_id = built.run_ids[-1]
    result = export(built, run_id[:-3])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert rows and {r["run_id"] for r in rows} == {run_id}


def test_json_carries_the_same_accuracy_as_the_cli(built, tmp_path):
    out = tmp_path / "results.json"
    result = export(built, "--format", "json", "--out", str(out))
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert len(payload["runs"]) == len(built.run_ids)
    for run in payload["runs"]:
        summary = run_summary(built.store, run["id"])
        assert run["verified_accuracy"] == pytest.approx(summary.verified_accuracy)
        assert run["auto_accuracy"] == pytest.approx(summary.accuracy)
        assert run["open_disputes"] == summary.open_disputes
        assert run["verified_ci_low"] <= run["verified_accuracy"] <= run["verified_ci_high"]


def test_hal_upload_describes_the_run_with_automatic_verdicts(built, tmp_path):
    run_id = built.run_ids[2]
    out = tmp_path / "hal.json"
    result = export(built, "--format", "hal", run_id, "--out", str(out))
    assert result.exit_code == 0, result.output
    upload = json.loads(out.read_text())
    assert {"config", "results", "raw_eval_results", "raw_logging_results", "total_usage", "total_cost"} <= set(upload)
    summary = run_summary(built.store, run_id)
    assert upload["config"]["run_id"] == run_id
    assert upload["config"]["benchmark_name"] == f"corebench_{summary.level}"
    tasks = task_details(built.store, run_id)
    correct = sorted(t.capsule_id for t in tasks if t.outcome == "correct")
    assert sorted(upload["results"]["successful_tasks"]) == correct
    assert sorted(upload["results"]["failed_tasks"]) == sorted(t.capsule_id for t in tasks if t.outcome != "correct")
    assert upload["results"]["accuracy"] == pytest.approx(len(correct) / len(tasks))
    assert set(upload["raw_eval_results"]) == {t.capsule_id for t in tasks}
    for task in tasks:
        entry = upload["raw_eval_results"][task.capsule_id]
        assert entry["total_written_questions"] + entry["total_vision_questions"] > 0  # counted even with no report
        assert entry["correct_written_answers"] + entry["correct_vision_answers"] == \
            sum(q.status == "correct" for q in task.questions)
    tokens = sum(t.input_tokens for t in tasks)
    assert upload["total_usage"][summary.model]["prompt_tokens"] == tokens
    if summary.cost_usd is not None:
        assert upload["total_cost"] == pytest.approx(summary.cost_usd)


def test_hal_upload_keeps_one_result_per_capsule_for_a_repeated_run(built, tmp_path):
    run_id = next(r for r in built.run_ids if r.endswith("x3"))
    out = tmp_path / "hal.json"
    assert export(built, "--format", "hal", run_id, "--out", str(out)).exit_code == 0
    upload = json.loads(out.read_text())
    capsules = {t.capsule_id for t in task_details(built.store, run_id)}
    assert set(upload["raw_eval_results"]) == capsules
    assert len(upload["results"]["successful_tasks"]) + len(upload["results"]["failed_tasks"]) == len(capsules)


def test_hal_needs_a_run_id_and_says_so(built):
    result = export(built, "--format", "hal")
    assert result.exit_code == 2
    assert "RUN_ID" in result.output and "Traceback" not in result.output


def test_an_unknown_run_is_one_clear_line(built):
    result = export(built, "no-such-run")
    assert result.exit_code == 2
    assert "no-such-run" in result.output and len(result.output.strip().splitlines()) == 1
