"""The stage "capsule code ran cleanly", judged by exit status where the transcript has it.

The status speaks for the code only where the code decides it (pipefail-aware); otherwise an R
or Python error in the output still says it failed; otherwise the stage is "unknown".
"""

from __future__ import annotations

import pytest

from corebench_runner.capsules.format import load_capsule
from corebench_runner.diagnostics import Diagnosis, diagnose
from corebench_runner.diagnostics.inputs import task_spec_for
from corebench_runner.diagnostics.summary import funnel_lines
from support_capsules import write_capsule

R_FAILED = "Error in library(lme4) : there is no package called 'lme4'\nExecution halted\n"


@pytest.fixture
def capsule(tmp_path):
    folder = write_capsule(tmp_path / "capsules", "mixed")
    (folder / "code" / "fit.R").write_text("library(lme4)\n")
    (folder / "code" / "plots.R").write_text("plot(1)\n")
    return load_capsule(folder)


def bash(command: str, output: str = "", exit_code: int | None = 0) -> dict:
    return {"type": "tool_call", "name": "bash", "input": {"command": command}, "output": output,
            "exit_code": exit_code, "timed_out": False, "is_error": False}


def code_ran(capsule, *events) -> bool | None:
    diagnosis = diagnose(task_spec_for(capsule, "hard"), list(events), None, {}, "no_report", None, capsule)
    return diagnosis.stages["code_ran"]


@pytest.mark.parametrize("command, output, exit_code, expected", [
    # A loop over the scripts that ran cleanly (the loop's status is its last command's).
    ('for f in code/*.R; do Rscript "$f"; done', "[1] 0.42\n", 0, True),
    ('for f in code/fit.R code/plots.R; do\n  Rscript "$f"\ndone', "", 0, True),
    # ... and one whose first round stopped with an error although the last one worked.
    ('for f in code/*.R; do Rscript "$f"; done', R_FAILED + "[1] 1\n", 0, False),
    # A failing script piped into tail: tail's exit status says nothing, R's error does.
    ("Rscript code/fit.R 2>&1 | tail -20", R_FAILED, 0, False),
    # Piped and quiet about how it went: cannot be told.
    ("Rscript code/fit.R | tail -5", "[1] 0.42\n", 0, None),
    ("python3 code/analysis.py; echo finished", "finished\n", 0, None),
    ("python3 code/analysis.py || true", "", 0, None),
    # With pipefail the pipeline's status is the code's again.
    ("set -o pipefail; Rscript code/fit.R | tail -5", "", 1, False),
    ("set -euo pipefail\nRscript code/fit.R | tail -5", "[1] 0.42\n", 0, True),
    # Later commands ran only if the code worked.
    ("cd /workspace && python3 code/analysis.py && cat results/summary.json", "{}", 0, True),
    ("python3 code/analysis.py", "Traceback (most recent call last):\nValueError: x\n", 1, False),
    # A transcript without exit codes.
    ("Rscript code/fit.R", "[1] 0.42\n", None, None),
    ("Rscript code/fit.R", R_FAILED, None, False),
])
def test_code_ran_is_judged_by_the_status_that_belongs_to_the_code(capsule, command, output, exit_code, expected):
    assert code_ran(capsule, bash(command, output, exit_code)) is expected


def test_a_clean_run_after_an_unknown_one_counts_and_the_funnel_says_unknown(capsule):
    assert code_ran(capsule, bash("Rscript code/fit.R | tail -5", "", 0), bash("Rscript code/fit.R", "", 0)) is True
    unknown = diagnose(task_spec_for(capsule, "hard"), [bash("Rscript code/fit.R | tail", "", 0)], None, {},
                       "no_report", None, capsule)
    clean = diagnose(task_spec_for(capsule, "hard"), [bash("Rscript code/fit.R", "", 0)], None, {},
                     "no_report", None, capsule)
    failed = diagnose(task_spec_for(capsule, "hard"), [bash("Rscript code/fit.R", R_FAILED, 1)], None, {},
                      "no_report", None, capsule)
    stored = [Diagnosis.from_json(d.to_json()) for d in (unknown, clean, failed)]  # through details_json
    assert [d.stages["code_ran"] for d in stored] == [None, True, False]
    line = next(line for line in funnel_lines(stored) if "capsule code ran cleanly" in line)
    assert line.split()[-4:] == ["1/3", "#######", "(1", "unknown)"], line
    assert failed.primary_reason["code"] in ("code_error", "dependency_install_failed")
    assert "lme4" in failed.primary_reason["message"]
