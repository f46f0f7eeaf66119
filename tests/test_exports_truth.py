"""Exports that carry the truth: Inspect scores named by question with the answer in the answer field and
every verdict as a score edit with its author and reason; a HAL upload's verified variant, named so."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.review.verdicts import record_verdict
from corebench_runner.store.results import task_details
from support_report import build_report_store

RUN = "2026-11-16-claude-sonnet-4-6-hard"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    built = build_report_store(tmp_path_factory.mktemp("truth") / "results.sqlite")
    # A person overturns an automatic "correct" on repeat 0 of RUN: the verified upload must follow them.
    task = next(t for t in task_details(built.store, RUN) if t.outcome == "correct")
    record_verdict(built.store, task.questions[0].answer_id, "incorrect", reviewer="grace",
                   reason="the value was typed, not computed")
    built.overturned = task.capsule_id
    yield built
    built.store.close()


def export(built, *args: str):
    return CliRunner().invoke(main, ["export", "--store", str(built.store.path), *args])


def test_hal_verified_applies_peoples_verdicts_and_says_so(built, tmp_path):
    automatic_out, verified_out = tmp_path / "auto.json", tmp_path / "verified.json"
    assert export(built, "--format", "hal", RUN, "--out", str(automatic_out)).exit_code == 0
    result = export(built, "--format", "hal-verified", RUN, "--out", str(verified_out))
    assert result.exit_code == 0, result.output
    automatic, verified = json.loads(automatic_out.read_text()), json.loads(verified_out.read_text())
    assert "verified" not in automatic["config"]["agent_name"]
    assert "verified" in verified["config"]["agent_name"] and verified["config"]["verdicts"].startswith("verified")
    assert built.overturned in automatic["results"]["successful_tasks"]
    assert built.overturned in verified["results"]["failed_tasks"]
    tasks = {t.capsule_id: t for t in task_details(built.store, RUN) if t.repeat == 0 and not t.set_aside}
    assert sorted(verified["results"]["successful_tasks"]) == sorted(c for c, t in tasks.items() if t.verified_correct)
    mine = [v for v in verified["people_verdicts"] if v["capsule_id"] == built.overturned]
    assert mine and mine[-1]["reviewer"] == "grace" and mine[-1]["reason"] == "the value was typed, not computed"


def test_hal_verified_default_file_name_says_verified(built, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = export(built, "--format", "hal-verified", RUN)
    assert result.exit_code == 0, result.output
    assert (tmp_path / f"{RUN}_VERIFIED_UPLOAD.json").is_file()


def test_inspect_scores_are_named_by_question_and_carry_verdicts_as_edits(built, tmp_path):
    log_api = pytest.importorskip("inspect_ai.log")
    out = tmp_path / "run.json"
    result = export(built, "--format", "inspect", RUN, "--out", str(out))
    assert result.exit_code == 0, result.output
    log = log_api.read_eval_log(str(out))
    sample = next(s for s in log.samples if s.id == built.overturned and s.epoch == 1)
    task = next(t for t in task_details(built.store, RUN) if t.capsule_id == built.overturned and t.repeat == 0)
    question = task.questions[0]
    name = next(n for n, s in sample.scores.items() if n != "task" and s.metadata["question"] == question.question)
    assert not name.startswith("q1") and name.startswith("report_the")
    score = sample.scores[name]
    assert json.loads(score.answer) == question.reported  # the answer, not "correct"
    assert score.value == "I" and score.history[0].value == "C"  # automatic first, the person's verdict on top
    edit = score.history[-1]
    assert edit.provenance.author == "grace" and edit.provenance.reason == "the value was typed, not computed"
    assert edit.provenance.metadata["by"] == "person"
    task_score = sample.scores["task"]
    assert task_score.value == "I" and task_score.history[0].value == "C"
    assert "grace" in task_score.history[-1].provenance.reason
    assert "correct" != task_score.answer and question.question in json.loads(task_score.answer)
