"""The oracle scaffold, end to end: a capsule's own reproduction in its environment image, real containers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tomli_w

from corebench_runner.capsules.format import load_capsule
from corebench_runner.capsules.levels import prepare
from corebench_runner.capsules.plugins import load_plugin
from corebench_runner.grading.loop import grade_report
from corebench_runner.images import environment_image
from corebench_runner.records import Limits, Outcome, TaskSpec
from corebench_runner.running.outputs import read_report, settle
from corebench_runner.sandbox.base import SandboxSpec
from corebench_runner.sandbox.docker.sandbox import DockerSandbox

ORACLE = load_plugin("scaffolds", "oracle")
GRADER = load_plugin("graders", "corebench")

ANALYSIS = """\
import csv, json, statistics
values = [float(line) for line in open("data/values.txt")]
json.dump({"stats": {"mean": statistics.mean(values), "n": len(values)}, "runs": [{"seed": 1}, {"seed": 7}]},
          open("results/metrics.json", "w"))
with open("results/log.txt", "w") as log:
    log.write(f"fitting...\\nfinal RMSE: {statistics.stdev(values):.4f}\\nbest optimizer: adam\\n")
with open("results/table.csv", "w", newline="") as table:
    writer = csv.writer(table)
    writer.writerow(["model", "accuracy", "f1"])
    writer.writerow(["baseline", 0.71, 0.66])
    writer.writerow(["ours", 0.83, 0.8])
"""

QUESTIONS = [
    {"text": "Report the mean of the values.", "runs": [2.5, 2.5, 2.5],
     "extract": {"file": "results/metrics.json", "key": "stats.mean"}},
    {"text": "Report the seed of the second run.", "runs": [7, 7, 7],
     "extract": {"file": "results/metrics.json", "key": "runs.1.seed"}},
    {"text": "Report the final RMSE.", "runs": [1.291, 1.291, 1.291],
     "extract": {"file": "results/log.txt", "regex": r"final RMSE: ([0-9.]+)"}},
    {"text": "Report the best optimizer.", "runs": ["adam", "adam", "adam"],
     "extract": {"file": "results/log.txt", "regex": r"best optimizer: (\w+)"}},
    {"text": "Report the F1 score of our model.", "runs": [0.8, 0.8, 0.8],
     "extract": {"file": "results/table.csv", "csv": {"row": "ours", "column": "f1"}}},
]


def make_capsule(root: Path, reproduce: str = "python3 code/analysis.py", questions=None) -> Path:
    folder = root / "capsules" / "oracle-demo"
    for sub in ("code", "data", "results", "environment"):
        (folder / sub).mkdir(parents=True)
    (folder / "code" / "analysis.py").write_text(ANALYSIS)
    (folder / "data" / "values.txt").write_text("1\n2\n3\n4\n")
    (folder / "results" / "metrics.json").write_text("{}")
    (folder / "environment" / "Dockerfile").write_text("FROM corebench/python:bookworm\n")
    (folder / "REPRODUCING.md").write_text("python3 code/analysis.py\n")
    doc = {"id": "oracle-demo", "title": "Oracle demo", "field": "Statistics", "language": "Python",
           "task_prompt": "Run the analysis and answer.", "reproduce": reproduce,
           "questions": questions if questions is not None else QUESTIONS}
    (folder / "capsule.toml").write_text(tomli_w.dumps(doc))
    return folder


def run_oracle(folder: Path, tmp_path: Path, limits: Limits = Limits(wall_seconds=300), level: str = "hard"):
    """Returns (capsule, submission as the engine settles it, report.json text read back from the container or None)."""
    capsule = load_capsule(folder)
    workspace = prepare(capsule, level, tmp_path / f"workspace-{level}")
    spec = SandboxSpec(image=environment_image(capsule), labels={"corebench.task": "test-oracle"}, network="none")
    with DockerSandbox(spec) as sandbox:
        sandbox.copy_in(workspace.path, workspace.task.workspace_dir)
        submission = ORACLE.run(workspace.task, sandbox, None, limits)
        settle(submission, read_report(sandbox, workspace.task.report_path))
        try:
            report = sandbox.read_file(workspace.task.report_path).decode()
        except FileNotFoundError:
            report = None
    return capsule, submission, report


@pytest.mark.docker
def test_oracle_answers_grade_correct_and_land_in_report_json(tmp_path):
    capsule, submission, report = run_oracle(make_capsule(tmp_path), tmp_path)
    assert submission.outcome is None and submission.error is None
    assert submission.answers == {
        "Report the mean of the values.": 2.5,
        "Report the seed of the second run.": 7,
        "Report the final RMSE.": 1.291,
        "Report the best optimizer.": "adam",
        "Report the F1 score of our model.": 0.8,
    }
    assert json.loads(report) == submission.answers
    assert grade_report(GRADER, capsule.questions, submission.answers).task_correct
    command = submission.transcript[0]
    assert command["command"] == "python3 code/analysis.py" and command["exit_code"] == 0
    assert command["seconds"] > 0


@pytest.mark.docker
def test_failing_reproduce_gives_no_answers_and_the_stderr_tail(tmp_path):
    folder = make_capsule(tmp_path, reproduce="python3 -c 'raise SystemExit(\"data/values.txt is corrupt\")'")
    _, submission, report = run_oracle(folder, tmp_path)
    assert submission.answers is None and report is None
    assert submission.outcome is Outcome.NO_REPORT
    assert "exited with code 1" in submission.error
    assert "data/values.txt is corrupt" in submission.error
    assert submission.transcript[0]["stderr_tail"].strip().endswith("data/values.txt is corrupt")


@pytest.mark.docker
def test_an_extraction_rule_that_misses_names_the_question_and_file(tmp_path):
    questions = [dict(QUESTIONS[0], extract={"file": "results/metrics.json", "key": "stats.median"})]
    _, submission, report = run_oracle(make_capsule(tmp_path, questions=questions), tmp_path)
    assert submission.answers is None and report is None
    assert submission.outcome is Outcome.NO_REPORT  # the oracle wrote none
    assert "'Report the mean of the values.'" in submission.error
    assert "results/metrics.json" in submission.error and "no key 'median'" in submission.error


@pytest.mark.docker
def test_an_output_the_command_never_wrote_is_no_report(tmp_path):
    questions = [dict(QUESTIONS[0], extract={"file": "results/never.json", "key": "a"})]
    _, submission, _ = run_oracle(make_capsule(tmp_path, questions=questions), tmp_path)
    assert submission.outcome is Outcome.NO_REPORT
    assert "results/never.json" in submission.error


@pytest.mark.docker
def test_a_reproduce_command_past_the_wall_clock_is_a_timeout(tmp_path):
    _, submission, _ = run_oracle(make_capsule(tmp_path, reproduce="sleep 60"), tmp_path, Limits(wall_seconds=2))
    assert submission.outcome is Outcome.TIMEOUT
    assert submission.answers is None
    assert submission.seconds < 30


def test_a_capsule_without_a_reproduce_command_is_skipped_with_a_hint():
    task = TaskSpec(capsule_id="no-recipe", level="hard", prompt="p", questions=("q",), vision_questions=(),
                    workspace_dir="/workspace", report_path="/workspace/report.json", oracle=None)
    submission = ORACLE.run(task, None, None, Limits())  # never touches a sandbox
    assert submission.outcome is Outcome.SKIPPED
    assert "no `reproduce` command" in submission.error and "no-recipe" in submission.error


def test_the_oracle_declares_what_the_run_engine_needs():
    assert ORACLE.needs_model is False
    assert ORACLE.always_uses_capsule_environment is True


# Every bundled capsule is reproduced by the oracle at every level in tests/test_suite_capsules.py.
