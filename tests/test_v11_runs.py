"""A run grades v1.1 capsules by tolerant-v1.1 unless told otherwise; regrade shows old and new side by side."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from corebench_runner.cli import main
from support_run import make_suite, show_json

MEAN = "Report the mean petal length, rounded to 4 decimal places."


def _label_v11(suite: Path, capsule_id: str) -> None:
    toml = suite / "capsules" / capsule_id / "capsule.toml"
    toml.write_text(toml.read_text() + '\n[benchmark]\nname = "core-bench"\nversion = "1.1"\nsplit = "mainline"\n')


def _reasons(runner, store: Path, run_id: str = "") -> dict[str, str]:
    tasks = show_json(runner, store, run_id)["tasks"]
    return {t["capsule_id"]: next(a for a in t["questions"] if a["question"] == MEAN)["reason"] for t in tasks}


def _run(suite: Path, store: Path, *args: str):
    return CliRunner().invoke(main, ["--suite", str(suite), "run", "--scaffold", "behave", "--store", str(store),
                                     "--sandbox", "local", "--all", "--quiet", *args])


def test_v11_capsules_get_tolerant_v11_by_default_and_the_run_can_say_otherwise(tmp_path: Path):
    suite = make_suite(tmp_path / "suite", ["rounded-new", "rounded-old"])
    _label_v11(suite, "rounded-new")
    store = tmp_path / "results.sqlite"
    result = _run(suite, store)
    assert result.exit_code == 0, result.output
    reasons = _reasons(CliRunner(), store)
    assert "v1.1 rule:" in reasons["rounded-new"] and "widened" in reasons["rounded-new"]
    assert "Official rule:" in reasons["rounded-old"] and "widened" not in reasons["rounded-old"]
    explicit = tmp_path / "explicit.sqlite"
    assert _run(suite, explicit, "--grader", "corebench").exit_code == 0
    reasons = _reasons(CliRunner(), explicit)
    assert "widened" not in reasons["rounded-new"]  # the run named the original rule: it applies everywhere


def test_regrade_with_the_v11_rule_shows_each_old_and_new_verdict(tmp_path: Path):
    suite = make_suite(tmp_path / "suite", ["rounded-a", "good-a"])
    store = tmp_path / "results.sqlite"
    assert _run(suite, store, "--grader", "corebench").exit_code == 0
    run_id = show_json(CliRunner(), store, "")["run"]["id"]
    result = CliRunner().invoke(main, ["--suite", str(suite), "regrade", run_id, "--grader", "tolerant-v1.1",
                                       "--store", str(store), "--reviewer", "tester"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:4] == ["capsule", "question", "before", "after"])
    rows = [line for line in lines[header + 2:header + 8] if line.startswith(("rounded-a", "good-a"))]
    assert len(rows) == 6  # every answer of the run, changed or not
    rounded_mean = next(r for r in rows if r.startswith("rounded-a") and "mean petal" in r)
    assert rounded_mean.split()[-2:] == ["incorrect", "disputed"]
    assert all(r.split()[-2:] == ["correct", "correct"] for r in rows if r.startswith("good-a"))
    after = json.loads(CliRunner().invoke(main, ["show", run_id, "--json", "--store", str(store)]).output)
    assert after["run"]["grader"] == "tolerant-v1.1"
    exact = CliRunner().invoke(main, ["--suite", str(suite), "regrade", run_id, "--grader", "corebench-v1.1",
                                      "--store", str(store), "--reviewer", "tester"])
    assert exact.exit_code == 0, exact.output
    row = next(line for line in exact.output.splitlines() if line.startswith("rounded-a") and "mean petal" in line)
    assert row.split()[-2:] == ["disputed", "incorrect"]
