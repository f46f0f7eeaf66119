"""`corebench grade` on files a user writes by hand, and on real CORE-Bench tasks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from support_grading import CORE_TRAIN, train_tasks, upstream_counts, upstream_task_correct

HAND_TASKS = """[
  {"capsule_id": "capsule-demo", "field": "Biology", "language": "R",
   "results": [
     {"Report the accuracy.": 0.9412, "Report the model name.": "LASSO", "From fig 2, report the y label.": "Cost"},
     {"Report the accuracy.": 0.9412, "Report the model name.": "LASSO", "From fig 2, report the y label.": "Cost"},
     {"Report the accuracy.": 0.9412, "Report the model name.": "LASSO", "From fig 2, report the y label.": "Cost"}
   ]}
]
"""

HAND_ANSWERS = """[
  {"capsule_id": "capsule-demo", "report": {"Report the accuracy.": "0.9412 %", "Report the model name.": "lasso",
                                            "From fig 2, report the y label.": "cost"}},
  {"capsule_id": "capsule-demo", "report": {"Report the accuracy.": 0.94, "report the model name": "LASSO"}},
  {"capsule_id": "capsule-demo", "report": {"Report the accuracy.": "N/A", "Report the model name.": "LASSO",
                                            "From fig 2, report the y label.": "Cost"}}
]
"""


@pytest.fixture
def hand_files(tmp_path: Path) -> tuple[Path, Path]:
    tasks, answers = tmp_path / "tasks.json", tmp_path / "answers.json"
    tasks.write_text(HAND_TASKS)
    answers.write_text(HAND_ANSWERS)
    return tasks, answers


def run(*args: str):
    return CliRunner().invoke(main, ["grade", *args])


def test_json_output_has_one_element_per_entry_and_one_item_per_question(hand_files):
    tasks, answers = hand_files
    result = run("--tasks", str(tasks), "--answers", str(answers), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert [e["capsule_id"] for e in out] == ["capsule-demo"] * 3
    assert [e["task_correct"] for e in out] == [True, False, False]
    for entry in out:
        assert set(entry) == {"capsule_id", "task_correct", "questions"}
        assert [q["question"] for q in entry["questions"]] == [
            "Report the accuracy.", "Report the model name.", "From fig 2, report the y label."]
        assert all(set(q) == {"question", "status", "reason"} for q in entry["questions"])
    second = {q["question"]: q for q in out[1]["questions"]}
    assert second["Report the model name."] == {"question": "Report the model name.", "status": "incorrect",
                                                "reason": "not reported"}
    assert second["Report the accuracy."]["status"] == "incorrect"
    third = {q["question"]: q["status"] for q in out[2]["questions"]}
    assert third == {"Report the accuracy.": "incorrect", "Report the model name.": "correct",
                     "From fig 2, report the y label.": "correct"}


def test_upstream_stop_changes_question_counts_but_never_the_task_verdict(hand_files):
    tasks, answers = hand_files
    plain = json.loads(run("--tasks", str(tasks), "--answers", str(answers), "--json").output)
    stopped = json.loads(run("--tasks", str(tasks), "--answers", str(answers), "--json", "--upstream-stop").output)
    assert [e["task_correct"] for e in plain] == [e["task_correct"] for e in stopped]
    assert [q["status"] for q in stopped[2]["questions"]] == ["incorrect", "incorrect", "incorrect"]
    assert "upstream stopped" in stopped[2]["questions"][1]["reason"]


def test_tolerant_grader_disputes_rounding_and_a_near_miss_key(hand_files):
    tasks, answers = hand_files
    out = json.loads(run("--tasks", str(tasks), "--answers", str(answers), "--json", "--grader", "tolerant").output)
    second = {q["question"]: q for q in out[1]["questions"]}
    assert second["Report the accuracy."]["status"] == "disputed"
    assert "rounded to 2 decimal place(s)" in second["Report the accuracy."]["reason"]
    assert second["Report the model name."]["status"] == "disputed"
    assert out[1]["task_correct"] is False


def test_readable_table_names_each_task_question_and_verdict(hand_files):
    tasks, answers = hand_files
    result = run("--tasks", str(tasks), "--answers", str(answers))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "capsule-demo: task correct (3/3 questions correct)"
    assert "capsule-demo: task incorrect (0/3 questions correct)" in lines
    assert any(line.split()[:1] == ["incorrect"] and "Report the accuracy." in line for line in lines)
    assert "not reported" in result.output
    assert lines[-1] == "1 of 3 answer entries correct (33.3%) by grader 'corebench'"


@pytest.mark.parametrize("tasks_text, answers_text, message", [
    ('[{"capsule_id": "a", "results": [', "[]", "--tasks {tasks}: not valid JSON (line 1"),
    ('{"capsule_id": "a"}', "[]", "--tasks {tasks}: must be a JSON list of CORE-Bench tasks"),
    ('[{"capsule_id": "a", "results": []}]', "[]", "--tasks {tasks}: task 0 (a): \"results\" must be a non-empty list"),
    ('[{"results": [{"q": 1}]}]', "[]", "--tasks {tasks}: task 0: needs a \"capsule_id\" string"),
    ('[{"capsule_id": "a", "results": [{"q": 1}]}]', '[{"capsule_id": "b", "report": {}}]',
     "--answers {answers}: entry 0: capsule_id 'b' is not in the tasks file"),
    ('[{"capsule_id": "a", "results": [{"q": 1}]}]', '[{"capsule_id": "a"}]',
     "--answers {answers}: entry 0 (a): needs a \"report\" object"),
    ('[{"capsule_id": "a", "results": [{"q": 1}]}]', '{"a": {}}', "--answers {answers}: must be a JSON list"),
])
def test_bad_files_give_one_clear_line_and_exit_2(tmp_path, tasks_text, answers_text, message):
    tasks, answers = tmp_path / "t.json", tmp_path / "a.json"
    tasks.write_text(tasks_text)
    answers.write_text(answers_text)
    result = run("--tasks", str(tasks), "--answers", str(answers))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert lines[0].startswith("error: " + message.format(tasks=tasks, answers=answers))


def test_missing_file_and_unknown_grader_are_user_errors(tmp_path, hand_files):
    tasks, answers = hand_files
    missing = run("--tasks", str(tmp_path / "nope.json"), "--answers", str(answers))
    assert missing.exit_code == 2 and "no such file" in missing.output
    unknown = run("--tasks", str(tasks), "--answers", str(answers), "--grader", "lenient")
    assert unknown.exit_code == 2
    assert "unknown grader 'lenient'; choose one of:" in unknown.output and "tolerant" in unknown.output


def test_a_report_given_as_a_json_string_or_a_non_object_is_graded_not_rejected(tmp_path, hand_files):
    tasks, _ = hand_files
    answers = tmp_path / "answers.json"
    report = {"Report the accuracy.": 0.9412, "Report the model name.": "LASSO", "From fig 2, report the y label.": "Cost"}
    answers.write_text(json.dumps([{"capsule_id": "capsule-demo", "report": json.dumps(report)},
                                   {"capsule_id": "capsule-demo", "report": None}]))
    out = json.loads(run("--tasks", str(tasks), "--answers", str(answers), "--json").output)
    assert [e["task_correct"] for e in out] == [True, False]
    assert all(q["status"] == "incorrect" for q in out[1]["questions"])


def test_every_option_has_help():
    result = run("--help")
    for flag in ("--tasks", "--answers", "--grader", "--json", "--upstream-stop"):
        assert flag in result.output
    assert "not the default" in result.output or "Off by default" in result.output


def test_real_core_train_answers_through_the_installed_command(tmp_path):
    """The console script itself, on upstream's own task file, agrees with upstream's counts."""
    corebench = shutil.which("corebench") or str(Path(__file__).resolve().parents[1] / ".venv/bin/corebench")
    tasks = train_tasks()
    entries = []
    for task in tasks:
        first = task["results"][0]
        entries.append({"capsule_id": task["capsule_id"], "report": dict(first)})
        entries.append({"capsule_id": task["capsule_id"],
                        "report": {k: (f"{v}%" if isinstance(v, float) else v) for k, v in first.items()}})
        entries.append({"capsule_id": task["capsule_id"], "report": {k: "N/A" for k in first}})
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(entries))
    proc = subprocess.run([corebench, "grade", "--tasks", str(CORE_TRAIN), "--answers", str(answers), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    by_id = {t["capsule_id"]: t for t in tasks}
    assert len(out) == len(entries)
    for entry, graded in zip(entries, out):
        want = upstream_task_correct(upstream_counts(by_id[entry["capsule_id"]]["results"], entry["report"]))
        assert graded["task_correct"] == want
    assert sum(e["task_correct"] for e in out) >= 2 * len(tasks) - 5  # first runs and "x%" forms are right


def test_the_speed_benchmark_runs_and_finds_every_verdict_equal_to_upstreams_formula():
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "grading.py"
    proc = subprocess.run([sys.executable, str(script), "--answers", "3000"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "same verdict:                      3,000 of 3,000" in proc.stdout
    assert "ratio ours / upstream:" in proc.stdout
