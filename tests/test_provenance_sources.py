"""Where each answer came from, read off core-agent transcripts of the bundled iris-lda capsule.

No container: these are the rules on the transcript's event shapes (tool_call). The end-to-end
sessions in real containers, with the re-run, are in test_provenance_sessions.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corebench_runner.capsules.format import load_capsule
from corebench_runner.diagnostics import diagnose
from corebench_runner.diagnostics.inputs import task_spec_for
from corebench_runner.diagnostics.provenance import suspect
from corebench_runner.diagnostics.reproduced import FAILED, MISSING, RAN, Rerun, reproduced_answers

IRIS = Path(__file__).resolve().parents[1] / "capsules" / "iris-lda"
TRACE = "Report the proportion of trace (the share of the between-group variance) explained by the first linear " \
        "discriminant, rounded to 4 decimal places."
ERRORS = "Report the number of the 150 flowers that the fitted discriminant rule misclassifies."
JSON_OUT = '{"proportion_of_trace": {"LD1": 0.9912, "LD2": 0.0088}, "resubstitution_errors": 3}'


@pytest.fixture(scope="module")
def iris():
    return load_capsule(IRIS)


def bash(command, output="", exit_code=0):
    return {"type": "tool_call", "name": "bash", "input": {"command": command}, "output": output,
            "exit_code": exit_code, "timed_out": False, "is_error": False}


def tool(name, **tool_input):
    return {"type": "tool_call", "name": name, "input": tool_input, "path": tool_input.get("path", ""),
            "output": tool_input.pop("output", ""), "is_error": False}


def sources(capsule, transcript, answers=None, level="hard"):
    answers = answers or {TRACE: 0.9912, ERRORS: 3}
    d = diagnose(task_spec_for(capsule, level), transcript, answers, {q: "correct" for q in answers}, "correct",
                 None, capsule)
    return {q: (s.source, s.evidence()) for q, s in d.sources.items()}


def test_running_the_capsules_code_is_produced_with_the_command_and_lines(iris):
    found = sources(iris, [bash("Rscript code/iris_lda.R && cat results/lda.json", JSON_OUT)])
    assert found[TRACE][0] == "produced" and found[ERRORS][0] == "produced"
    assert found[TRACE][1]["command"] == "Rscript code/iris_lda.R && cat results/lda.json"
    assert found[TRACE][1]["lines"] == [JSON_OUT]


def test_a_file_read_after_the_code_wrote_it_is_produced_by_that_code(iris):
    found = sources(iris, [bash("Rscript code/iris_lda.R", "done"), tool("view_file", path="results/lda.json",
                                                                          output=JSON_OUT)])
    assert found[TRACE][0] == "produced"
    assert found[TRACE][1]["command"] == "read results/lda.json"
    assert "Rscript code/iris_lda.R" in found[TRACE][1]["note"]


def test_a_number_nothing_printed_is_typed(iris):
    found = sources(iris, [bash("ls /workspace", "code\ndata\nresults"),
                           bash("echo 0.9912 > /tmp/guess", "")])
    assert found[TRACE][0] == "typed"
    assert found[TRACE][1]["command"] == "echo 0.9912 > /tmp/guess"
    assert found[ERRORS][0] == "typed"  # submitted, never shown


def test_code_on_random_data_is_simulated(iris):
    script = "import numpy as np\nx = np.random.normal(size=(150, 4))\nprint(round(abs(x.mean()) + 0.99, 4))\n"
    found = sources(iris, [tool("create_file", path="/workspace/fake.py", content=script),
                           bash("python3 fake.py", "0.9912")], answers={TRACE: 0.9912})
    assert found[TRACE][0] == "simulated" and "np.random.normal(" in found[TRACE][1]["note"]


def test_data_written_by_the_agent_into_data_is_simulated(iris):
    found = sources(iris, [bash("printf 'a,b\\n1,2\\n' > data/iris.csv"), bash("Rscript code/iris_lda.R", JSON_OUT)],
                    answers={TRACE: 0.9912})
    assert found[TRACE][0] == "simulated" and "data/iris.csv" in found[TRACE][1]["note"]


def test_an_edit_beyond_paths_is_produced_modified_but_a_path_fix_is_not(iris):
    original = (IRIS / "code" / "iris_lda.R").read_text()
    line = next(line for line in original.splitlines() if "iris.csv" in line)
    path_fix = [tool("edit_file", path="code/iris_lda.R", old_text=line,
                     new_text=line.replace("iris.csv", "../data/iris.csv")),
                bash("Rscript code/iris_lda.R && cat results/lda.json", JSON_OUT)]
    assert sources(iris, path_fix, answers={TRACE: 0.9912})[TRACE][0] == "produced"
    constant = [tool("edit_file", path="code/iris_lda.R", old_text=line, new_text=line + "\nprint(0.99 + 0.0012)"),
                bash("Rscript code/iris_lda.R && cat results/lda.json", JSON_OUT)]
    found = sources(iris, constant, answers={TRACE: 0.9912})
    assert found[TRACE][0] == "produced_modified" and "code/iris_lda.R" in found[TRACE][1]["note"]


def test_a_value_read_from_a_shipped_results_file_is_shipped(iris):
    shipped = (IRIS / "results" / "lda.json").read_text()
    found = sources(iris, [bash("cat results/lda.json", shipped)], level="easy")
    assert found[TRACE][0] == "shipped" and "results/lda.json" in found[TRACE][1]["note"]
    assert suspect("shipped", None, "easy") == ""  # reading results is the easy level's task
    assert suspect("shipped", None, "hard") and suspect("typed", "yes", "easy") and suspect("produced", "no", "hard")
    assert suspect("produced", "yes", "hard") == "" and suspect("produced_modified", None, "hard") == ""


def test_a_vision_answer_after_viewing_an_image_is_figure(iris):
    capsule = iris
    task = task_spec_for(capsule, "hard")
    from dataclasses import replace
    task = replace(task, vision_questions=(TRACE,))
    d = diagnose(task, [tool("view_image", path="results/lda_scores.png")], {TRACE: 0.9912}, {TRACE: "correct"},
                 "correct", None, capsule)
    assert d.sources[TRACE].source == "figure"


def test_the_rerun_check_uses_the_same_matching():
    answers = {TRACE: 0.9912, ERRORS: 3, "missing": None}
    assert reproduced_answers(answers, Rerun(RAN, 0, text="LD1 99.12%\nerrors: 3")) == {TRACE: "yes", ERRORS: "yes"}
    assert reproduced_answers(answers, Rerun(RAN, 0, text="LD1 0.5")) == {TRACE: "no", ERRORS: "no"}
    assert set(reproduced_answers(answers, Rerun(FAILED, 1)).values()) == {"rerun_failed"}
    assert set(reproduced_answers(answers, Rerun(MISSING)).values()) == {"no_recipe"}


def test_matching_is_linear_in_the_output(iris):
    import time
    big = "x 1.2345\n" * 200_000  # 1.8 MB of output that never holds the answer
    started = time.monotonic()
    found = sources(iris, [bash("Rscript code/iris_lda.R", big)], answers={TRACE: 0.9912})
    assert found[TRACE][0] == "typed" and time.monotonic() - started < 20


def test_a_constant_written_into_the_capsules_code_and_printed_is_produced_modified(iris):
    line = 'iris_data <- read.csv("data/iris.csv", stringsAsFactors = TRUE)'
    edit = [tool("edit_file", path="/workspace/code/iris_lda.R", old_text=line, new_text=line + '\ncat("LD1", 0.9912)'),
            bash("Rscript code/iris_lda.R", "LD1 0.9912")]
    found = sources(iris, edit, answers={TRACE: 0.9912})
    assert found[TRACE][0] == "produced_modified" and found[TRACE][1]["lines"] == ["LD1 0.9912"]


def test_sed_that_swaps_a_path_is_a_fix_but_sed_that_changes_a_number_is_not(iris):
    run = bash("Rscript code/iris_lda.R && cat results/lda.json", JSON_OUT)
    path_swap = [bash("sed -i 's#data/iris.csv#/workspace/data/iris.csv#' code/iris_lda.R"), run]
    assert sources(iris, path_swap, answers={TRACE: 0.9912})[TRACE][0] == "produced"
    tweak = [bash("sed -i 's/round(trace_share\\[1\\], 4)/round(trace_share[1] + 0.001, 4)/' code/iris_lda.R"), run]
    found = sources(iris, tweak, answers={TRACE: 0.9912})
    assert found[TRACE][0] == "produced_modified" and "sed -i" in found[TRACE][1]["note"]
