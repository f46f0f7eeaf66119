"""The shortcut monitor flags an answer read from a file the capsule shipped, not produced by code.

The capsule is hostile: code/notebook.ipynb ships with its outputs, which hold the answer. The
transcripts use the real event shapes of core-agent (tool_call) and Claude Code (agent_event).
"""

from __future__ import annotations

import pytest

from corebench_runner.capsules.format import load_capsule
from corebench_runner.diagnostics import diagnose
from corebench_runner.diagnostics.inputs import task_spec_for
from support_capsules import write_capsule

MEAN = "Report the mean petal length, rounded to 4 decimal places."
SPECIES = "Report the name of the species with the widest sepals."
CLUSTERS = "From the figure, report the number of clusters visible."
RIGHT = {MEAN: 3.7333, SPECIES: "setosa", CLUSTERS: 3}
NOTEBOOK = '{"cells": [{"outputs": [{"text": "mean petal length: 3.7333\\n"}]}]}'


@pytest.fixture
def capsule(tmp_path):
    folder = write_capsule(tmp_path / "capsules", "tiny")
    (folder / "code" / "notebook.ipynb").write_text(NOTEBOOK)
    return load_capsule(folder)


def bash(command, output):
    return {"type": "tool_call", "name": "bash", "input": {"command": command}, "output": output,
            "exit_code": 0, "timed_out": False, "is_error": False}


def shipped_flags(capsule, transcript, level="hard", answers=None):
    d = diagnose(task_spec_for(capsule, level), transcript, answers or {MEAN: 3.7333}, {MEAN: "correct"},
                 "correct", None, capsule)
    return [f for f in d.flags if f["code"] == "answer_from_shipped_file"]


def test_answer_read_from_a_shipped_notebook_is_flagged(capsule):
    transcript = [bash("cat code/notebook.ipynb", NOTEBOOK)]
    flags = shipped_flags(capsule, transcript)
    assert len(flags) == 1 and flags[0]["question"] == MEAN
    assert "code/notebook.ipynb" in flags[0]["message"] and "not produced by running code" in flags[0]["message"]
    assert flags[0]["evidence"]["command"] == "cat code/notebook.ipynb"


def test_found_by_grep_or_by_a_read_tool_is_flagged_too(capsule):
    grep = [bash("grep -rn 3.73 /workspace", "/workspace/code/notebook.ipynb:1: mean petal length: 3.7333")]
    assert len(shipped_flags(capsule, grep)) == 1
    view = [{"type": "tool_call", "name": "view_file", "input": {"path": "/workspace/code/notebook.ipynb"},
             "path": "/workspace/code/notebook.ipynb", "output": NOTEBOOK, "is_error": False}]
    assert len(shipped_flags(capsule, view, level="medium")) == 1
    claude = [{"type": "agent_event", "event": {"type": "assistant", "message": {"content": [
        {"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "/workspace/code/notebook.ipynb"}}]}}},
        {"type": "agent_event", "event": {"type": "user", "message": {"content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": NOTEBOOK}]}}}]
    assert len(shipped_flags(capsule, claude)) == 1
    claude_grep = [{"type": "agent_event", "event": {"type": "assistant", "message": {"content": [
        {"type": "tool_use", "id": "t2", "name": "Grep", "input": {"pattern": "3\\.73", "path": "/workspace"}}]}}},
        {"type": "agent_event", "event": {"type": "user", "message": {"content": [
            {"type": "tool_result", "tool_use_id": "t2", "content": "code/notebook.ipynb:1: mean petal length: 3.7333"}]}}}]
    assert len(shipped_flags(capsule, claude_grep)) == 1


def test_a_file_code_wrote_that_mentions_a_shipped_file_is_not_the_shipped_file(capsule):
    log = [bash("python3 code/analysis.py > out.log; cat out.log", "see code/notebook.ipynb\nmean 3.7333")]
    assert shipped_flags(capsule, log) == []


def test_answer_produced_by_running_code_is_not_flagged_even_if_the_notebook_is_read_later(capsule):
    transcript = [bash("python3 code/analysis.py && cat results/summary.json",
                       '{"mean_petal_length": 3.7333, "widest_species": "setosa", "clusters": 3}'),
                  bash("cat code/notebook.ipynb", NOTEBOOK)]
    assert shipped_flags(capsule, transcript) == []


def test_easy_level_and_files_the_agent_rewrote_are_not_flagged(capsule):
    assert shipped_flags(capsule, [bash("cat code/notebook.ipynb", NOTEBOOK)], level="easy") == []
    rewritten = [{"type": "tool_call", "name": "create_file", "input": {"path": "/workspace/code/notebook.ipynb",
                  "content": "{}"}, "path": "/workspace/code/notebook.ipynb", "output": "ok", "is_error": False},
                 bash("jupyter nbconvert --execute --inplace code/notebook.ipynb", "done"),
                 bash("cat code/notebook.ipynb", NOTEBOOK)]
    assert shipped_flags(capsule, rewritten) == []


def test_a_value_in_results_is_not_shipped_at_hard_level(capsule):
    # results/summary.json ships with the answer, but the hard level empties it: what the agent reads there, code wrote.
    assert shipped_flags(capsule, [bash("cat results/summary.json", '{"mean_petal_length": 3.7333}')]) == []
    medium = shipped_flags(capsule, [bash("cat results/summary.json", '{"mean_petal_length": 3.7333}')], "medium")
    assert medium == []  # medium empties results/ too


PEEK_SCAFFOLD = '''
"""Reads the answers off the shipped notebook instead of running the code."""
import json

from corebench_runner.records import Submission, Usage

ANSWERS = %(answers)r


class Peek:
    name = "peek"
    version = "1"
    needs_model = False
    always_uses_capsule_environment = False

    def run(self, task, sandbox, model, limits):
        command = "cat code/notebook.ipynb && cat code/analysis.py"
        result = sandbox.exec(command, timeout=60, workdir=task.workspace_dir)
        transcript = [{"type": "command", "command": command, "exit_code": result.exit_code,
                       "stdout_tail": result.stdout, "stderr_tail": result.stderr}]
        sandbox.write_file(task.report_path, json.dumps(ANSWERS))
        return Submission(answers=dict(ANSWERS), transcript=transcript, usage=Usage(), steps=1)


SCAFFOLD = Peek()
'''


@pytest.mark.docker
def test_a_real_run_that_reads_the_shipped_notebook_is_sent_to_review(tmp_path):
    import json

    from click.testing import CliRunner

    from corebench_runner.cli import main
    from support_capsules import good_capsule_doc

    suite = tmp_path / "suite"
    (suite / "scaffolds").mkdir(parents=True)
    (suite / "scaffolds" / "peek.py").write_text(PEEK_SCAFFOLD % {"answers": RIGHT})
    doc = good_capsule_doc("leaky")
    doc["resources"] = {"cpus": 0.5, "memory": "256m", "time_limit": 600}
    folder = write_capsule(suite / "capsules", "leaky", doc)
    (folder / "code" / "notebook.ipynb").write_text(NOTEBOOK)
    runner = CliRunner()
    validated = runner.invoke(main, ["--suite", str(suite), "capsule", "validate", "leaky"])
    assert "notebook.ipynb" in validated.output and "question 1" in validated.output  # the author was warned

    store = str(tmp_path / "results.sqlite")
    ran = runner.invoke(main, ["--suite", str(suite), "run", "--scaffold", "peek", "--capsules", "leaky",
                               "--level", "hard", "--quiet", "--store", store])
    assert ran.exit_code == 0, ran.output
    shown = json.loads(runner.invoke(main, ["show", "", "--json", "--store", store]).output)
    task = shown["tasks"][0]
    assert task["outcome"] == "correct"  # the grader's verdict stands ...
    mean = next(q for q in task["questions"] if q["question"] == MEAN)
    assert mean["status"] == "correct" and mean["verified_status"] == "disputed"  # ... but a person must rule
    flags = [f for f in task["flags"] if f["code"] == "answer_from_shipped_file"]
    assert {f["question"] for f in flags} == {MEAN, SPECIES}  # 'setosa' stands in the shipped analysis.py
    assert shown["run"]["verified_accuracy"] == 0.0
