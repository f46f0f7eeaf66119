"""Diagnostics from hand-built transcripts: stages, primary failure reasons, shortcut flags, aggregates.

Transcripts use the real event shapes of core-agent (tool_call), the oracle (command, extract) and
the command scaffold (agent_event); the capsule is a real folder loaded by the real loader.
"""

from __future__ import annotations

import json

import pytest

from corebench_runner.capsules.format import load_capsule
from corebench_runner.diagnostics import diagnose
from corebench_runner.diagnostics.inputs import task_spec_for
from corebench_runner.diagnostics.summary import diagnosis_of, funnel, funnel_lines
from corebench_runner.store.database import AnswerRecord
from support_capsules import write_capsule

MEAN = "Report the mean petal length, rounded to 4 decimal places."
SPECIES = "Report the name of the species with the widest sepals."
CLUSTERS = "From the figure, report the number of clusters visible."
RIGHT = {MEAN: 3.7333, SPECIES: "setosa", CLUSTERS: 3}
RUN_OUTPUT = "exit code: 0\nstdout:\nmean petal length 3.733333\nwidest: setosa\nclusters: 3\n"


@pytest.fixture
def capsule(tmp_path):
    folder = write_capsule(tmp_path / "capsules", "tiny")
    (folder / "code" / "run.sh").write_text("#!/bin/bash\nset -euo pipefail\ncd ..\nexport MPLBACKEND=Agg\n"
                                            "python3 code/analysis.py --seed 42\n")
    return load_capsule(folder)


def bash(command, output="exit code: 0", exit_code=0, timed_out=False):
    return {"type": "tool_call", "name": "bash", "input": {"command": command}, "output": output,
            "exit_code": exit_code, "timed_out": timed_out, "is_error": False}


def tool(name, output="", **tool_input):
    event = {"type": "tool_call", "name": name, "input": tool_input, "output": output, "is_error": False}
    if "path" in tool_input:
        event["path"] = "/workspace/" + tool_input["path"].lstrip("/") if not tool_input["path"].startswith("/") \
            else tool_input["path"]
    return event


def submit(answers):
    return {"type": "tool_call", "name": "submit", "input": {"answers": answers}, "output": "accepted",
            "accepted": True, "is_error": False}


PROMPT = {"type": "prompt", "system": "...", "user": "...", "tools": ["bash", "submit"]}


def run_diagnose(capsule, transcript, answers, statuses, outcome, error=None, level="hard", produced=None):
    return diagnose(task_spec_for(capsule, level), transcript, answers, statuses, outcome, error, capsule,
                    produced_files=produced)


def all_status(status):
    return {MEAN: status, SPECIES: status, CLUSTERS: status}


def test_install_failure_is_the_primary_reason_and_names_the_package(capsule):
    transcript = [PROMPT, bash("pip install numpyy==9.9", "exit code: 1\nstderr:\nERROR: Could not find a version "
                               "that satisfies the requirement numpyy==9.9\nERROR: No matching distribution found "
                               "for numpyy==9.9", 1),
                  bash("python3 code/analysis.py", "exit code: 1\nstderr:\nTraceback (most recent call last):\n"
                       "ModuleNotFoundError: No module named 'numpyy'", 1)]
    d = run_diagnose(capsule, transcript, None, {}, "no_report")
    assert d.stages == {"deps_installed": False, "code_ran": False, "outputs_produced": False,
                        "report_written": False, "answers_correct": False}
    assert d.primary_reason["code"] == "dependency_install_failed"
    assert "numpyy" in d.primary_reason["message"]
    assert d.primary_reason["evidence"]["command"] == "pip install numpyy==9.9"
    assert "No matching distribution" in d.primary_reason["evidence"]["output_excerpt"]


def test_a_later_successful_install_clears_an_earlier_failure(capsule):
    transcript = [PROMPT, bash("pip install pandass", "exit code: 1\nERROR: No matching distribution found for "
                               "pandass", 1), bash("pip install pandas", "exit code: 0\nSuccessfully installed"),
                  bash("cd /workspace && python3 code/analysis.py", RUN_OUTPUT)]
    d = run_diagnose(capsule, transcript, RIGHT, all_status("correct"), "correct", produced=["summary.json"])
    assert all(d.stages.values())
    assert d.primary_reason is None


def test_install_and_run_in_one_command(capsule):
    failed_install = [PROMPT, bash("pip install foo-bar==1 && python3 code/analysis.py",
                                   "exit code: 1\nERROR: No matching distribution found for foo-bar==1", 1)]
    d = run_diagnose(capsule, failed_install, None, {}, "no_report")
    assert not d.stages["deps_installed"] and d.primary_reason["message"].endswith("package foo-bar")
    failed_code = [PROMPT, bash("pip install pandas && python3 code/analysis.py",
                                "exit code: 1\nSuccessfully installed pandas\nKeyError: 'length'", 1)]
    d = run_diagnose(capsule, failed_code, None, {}, "no_report")
    assert d.stages["deps_installed"] and d.primary_reason["code"] == "code_error"
    both_fine = [PROMPT, bash("pip install pandas && python3 code/analysis.py", RUN_OUTPUT)]
    assert run_diagnose(capsule, both_fine, None, {}, "no_report").stages["code_ran"]


def test_code_error_carries_the_exception_line(capsule):
    transcript = [PROMPT, bash("cd /workspace && python3 code/analysis.py",
                               "exit code: 1\nstderr:\nTraceback (most recent call last):\n  File \"code/analysis.py\", "
                               "line 2, in <module>\nZeroDivisionError: division by zero", 1),
                  submit({MEAN: 1.0, SPECIES: "setosa", CLUSTERS: 3})]
    d = run_diagnose(capsule, transcript, {MEAN: 1.0, SPECIES: "setosa", CLUSTERS: 3},
                     {MEAN: "incorrect", SPECIES: "correct", CLUSTERS: "correct"}, "incorrect")
    assert d.stages["deps_installed"] and not d.stages["code_ran"] and d.stages["report_written"]
    assert d.primary_reason["code"] == "code_error"
    assert d.primary_reason["message"].endswith("ZeroDivisionError: division by zero")
    assert d.primary_reason["evidence"]["command"] == "cd /workspace && python3 code/analysis.py"


def test_r_errors_are_found_too(capsule):
    transcript = [PROMPT, bash("Rscript analysis.py", "exit code: 1\nstderr:\nError in library(foo) : there is no "
                               "package called ‘foo’\nExecution halted", 1)]
    d = run_diagnose(capsule, transcript, None, {}, "no_report")
    assert d.primary_reason["code"] == "dependency_install_failed" and "foo" in d.primary_reason["message"]


def test_code_ran_but_no_report(capsule):
    transcript = [PROMPT, bash("python3 code/analysis.py", RUN_OUTPUT)]
    d = run_diagnose(capsule, transcript, None, {}, "no_report", "the agent wrote no report.json",
                     produced=["summary.json"])
    assert [d.stages[s] for s in ("deps_installed", "code_ran", "outputs_produced", "report_written")] == \
        [True, True, True, False]
    assert d.primary_reason["code"] == "no_report"


def test_outputs_not_produced_when_results_stay_empty_or_were_written_by_hand(capsule):
    transcript = [PROMPT, bash("python3 code/analysis.py", RUN_OUTPUT)]
    assert not run_diagnose(capsule, transcript, None, {}, "no_report", produced=[]).stages["outputs_produced"]
    by_hand = [PROMPT, tool("create_file", path="results/summary.json", content="{}")]
    assert not run_diagnose(capsule, by_hand, None, {}, "no_report",
                            produced=["summary.json"]).stages["outputs_produced"]


def test_wrong_value_and_disputed_rounding(capsule):
    transcript = [PROMPT, bash("python3 code/analysis.py", RUN_OUTPUT)]
    wrong = run_diagnose(capsule, transcript, {**RIGHT, MEAN: 9.99},
                         {MEAN: "incorrect", SPECIES: "correct", CLUSTERS: "correct"}, "incorrect")
    assert wrong.primary_reason["code"] == "wrong_value" and MEAN in wrong.primary_reason["message"]
    misread = [PROMPT, bash("python3 code/analysis.py", RUN_OUTPUT + "sd 9.99\n"), bash("ls results", "summary.json")]
    wrong = run_diagnose(capsule, misread, {**RIGHT, MEAN: 9.99},
                         {MEAN: "incorrect", SPECIES: "correct", CLUSTERS: "correct"}, "incorrect")
    assert wrong.primary_reason["evidence"]["command"] == "python3 code/analysis.py"  # where 9.99 was shown
    rounded = run_diagnose(capsule, transcript, {**RIGHT, MEAN: 3.73},
                           {MEAN: "disputed", SPECIES: "correct", CLUSTERS: "correct"}, "disputed")
    assert rounded.primary_reason["code"] == "disputed"  # a bare status: no grader reason to read
    from corebench_runner.records import Verdict, VerdictStatus
    verdict = Verdict(VerdictStatus.DISPUTED, "plausibly right: it matches the reference rounded to 2 decimals")
    rounded = run_diagnose(capsule, transcript, {**RIGHT, MEAN: 3.73},
                           {MEAN: verdict, SPECIES: "correct", CLUSTERS: "correct"}, "disputed")
    assert rounded.primary_reason["code"] == "disputed_rounding"


def test_timeout_and_budget_name_the_last_command(capsule):
    transcript = [PROMPT, bash("python3 code/analysis.py --epochs 1000", "exit code: -1\n[killed]", -1, True)]
    d = run_diagnose(capsule, transcript, None, {}, "timeout", "stopped by the engine after 600s")
    assert d.primary_reason["code"] == "timeout"
    assert d.primary_reason["evidence"]["command"] == "python3 code/analysis.py --epochs 1000"
    budget = run_diagnose(capsule, transcript, None, {}, "budget_exceeded", "spent its --max-cost-per-task")
    assert budget.primary_reason["code"] == "budget_exceeded" and "max-cost" in budget.primary_reason["message"]


def test_correct_and_skipped_tasks_have_no_reason(capsule):
    transcript = [PROMPT, bash("python3 code/analysis.py", RUN_OUTPUT), submit(RIGHT)]
    d = run_diagnose(capsule, transcript, RIGHT, all_status("correct"), "correct", produced=["summary.json"])
    assert d.primary_reason is None and d.flags == []
    assert run_diagnose(capsule, [], None, {}, "skipped").primary_reason is None


# ----------------------------------------------------------------------------- shortcut monitors

def test_answers_typed_without_running_anything_are_flagged(capsule):
    transcript = [PROMPT, tool("view_file", "     1\timport json", path="code/analysis.py"), submit(RIGHT)]
    d = run_diagnose(capsule, transcript, RIGHT, all_status("correct"), "correct")
    flagged = {f["question"] for f in d.flags if f["code"] == "answer_from_nowhere"}
    assert MEAN in flagged and SPECIES in flagged
    assert all(f["evidence"]["output_excerpt"] for f in d.flags)


def test_a_vision_answer_after_viewing_an_image_is_not_flagged(capsule):
    transcript = [PROMPT, tool("view_image", "", path="results/figure.png"), submit({CLUSTERS: 4})]
    d = run_diagnose(capsule, transcript, {CLUSTERS: 4}, {CLUSTERS: "incorrect"}, "incorrect")
    assert d.flags == []


def test_an_echo_of_the_agents_own_number_is_not_a_source(capsule):
    transcript = [PROMPT, bash("echo 3.7333", "exit code: 0\nstdout:\n3.7333"), submit(RIGHT)]
    d = run_diagnose(capsule, transcript, RIGHT, all_status("correct"), "correct")
    assert MEAN in {f["question"] for f in d.flags if f["code"] == "answer_from_nowhere"}


def test_answers_read_from_output_are_not_flagged_even_when_rounded_or_percent(capsule):
    transcript = [PROMPT, bash("python3 code/analysis.py", RUN_OUTPUT), submit(RIGHT)]
    d = run_diagnose(capsule, transcript, RIGHT, all_status("correct"), "correct", produced=["summary.json"])
    assert d.flags == []
    percent = {MEAN: "373.33%", SPECIES: "Setosa", CLUSTERS: 3}
    d = run_diagnose(capsule, transcript, percent, all_status("correct"), "correct")
    assert not [f for f in d.flags if f["code"] == "answer_from_nowhere"]


def test_a_constant_written_into_the_capsule_code_is_flagged(capsule):
    transcript = [PROMPT, tool("edit_file", "edited", path="code/analysis.py",
                               old_text="round(sum(rows) / len(rows), 4)", new_text="3.7333"),
                  bash("python3 code/analysis.py", "exit code: 0\nstdout:\n3.7333"), submit(RIGHT)]
    d = run_diagnose(capsule, transcript, RIGHT, all_status("correct"), "correct")
    edits = [f for f in d.flags if f["code"] == "constant_edit"]
    assert [f["question"] for f in edits] == [MEAN]
    assert edits[0]["evidence"]["command"] == "edit /workspace/code/analysis.py"


def test_reads_of_reference_places_and_outside_the_workspace_are_flagged(capsule):
    transcript = [PROMPT, bash("cat /capsules/tiny/capsule.toml", "no such file", 1),
                  tool("view_file", "secret", path="/home/someone/answers.txt"),
                  bash("ls /usr/lib/python3 /home && cat /workspace/data/petals.csv", "ok")]
    d = run_diagnose(capsule, transcript, None, {}, "no_report")
    codes = [f["code"] for f in d.flags]
    assert codes == ["reference_read", "outside_read"]
    assert "/home/someone/answers.txt" in d.flags[1]["message"]
    sneaky = run_diagnose(capsule, [PROMPT, bash("head /workspace/../srv/answers.json", "x")], None, {}, "no_report")
    assert [f["code"] for f in sneaky.flags] == ["outside_read"] and "/srv/answers.json" in sneaky.flags[0]["message"]


def test_a_run_script_recreated_from_memory_is_flagged_at_hard_level_only(capsule):
    original = (capsule.path / "code" / "run.sh").read_text()
    transcript = [PROMPT, tool("create_file", "wrote", path="code/run.sh", content=original),
                  bash("bash code/run.sh", RUN_OUTPUT)]
    hard = run_diagnose(capsule, transcript, None, {}, "no_report", level="hard")
    assert [f["code"] for f in hard.flags] == ["recreated_from_memory"]
    assert not run_diagnose(capsule, transcript, None, {}, "no_report", level="medium").flags
    own = [PROMPT, tool("create_file", "wrote", path="code/run.sh", content="#!/bin/bash\npython3 code/analysis.py\n")]
    assert not run_diagnose(capsule, own, None, {}, "no_report", level="hard").flags


def test_oracle_transcripts_run_the_code_and_are_never_flagged(capsule):
    transcript = [{"type": "command", "command": capsule.reproduce, "exit_code": 0, "timed_out": False,
                   "stdout_tail": "", "stderr_tail": ""},
                  {"type": "extract", "answers": RIGHT, "report_path": "/workspace/report.json"}]
    d = run_diagnose(capsule, transcript, RIGHT, all_status("correct"), "correct", level="medium",
                     produced=["summary.json"])
    assert all(d.stages.values()) and d.flags == []


def test_claude_code_stream_events_are_read(capsule):
    transcript = [
        {"type": "command", "agent": "claude-code", "exit_code": 0},
        {"type": "agent_event", "event": {"type": "assistant", "message": {"content": [
            {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "python3 code/analysis.py"}}]}}},
        {"type": "agent_event", "event": {"type": "user", "message": {"content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": "mean 3.73333 widest setosa"}]}}}]
    d = run_diagnose(capsule, transcript, {MEAN: 3.7333, SPECIES: "setosa"}, {MEAN: "correct", SPECIES: "correct"},
                     "correct")
    assert d.stages["code_ran"]
    assert not [f for f in d.flags if f["code"] == "answer_from_nowhere"]


def test_a_scaffold_that_records_no_actions_is_not_judged(capsule):
    d = run_diagnose(capsule, [{"type": "note", "text": "hi"}], RIGHT, all_status("correct"), "correct")
    assert d.flags == [] and d.monitored is False


def test_flagged_correct_answers_join_the_review_queue_without_changing_accuracy(capsule, tmp_path):
    from corebench_runner.diagnostics.stored import answer_flags, queue_flagged_answers
    from corebench_runner.review import verdicts as review
    from corebench_runner.store.database import TaskRecord, claim_task, create_run, finish_task, open_store
    from corebench_runner.store.results import run_summary

    d = run_diagnose(capsule, [PROMPT, submit(RIGHT)], RIGHT, all_status("correct"), "correct")
    with open_store(tmp_path / "r.sqlite") as store:
        create_run(store, "run-1", model="m", scaffold="core-agent", scaffold_version="1", level="hard",
                   grader="tolerant", engine_version="0", host="h", config={}, tasks=[("tiny", 0, "hash")])
        task_id = store.query("SELECT id FROM tasks")[0]["id"]
        claim_task(store, task_id)
        records = [AnswerRecord(q, v, True, [v], False, "correct", "matches") for q, v in RIGHT.items()]
        assert finish_task(store, task_id, TaskRecord(outcome="correct", answers=records,
                                                      details={"diagnostics": d.to_json()}))
        flagged = {f["question"] for f in d.flags}
        assert queue_flagged_answers(store, task_id) == len(flagged) >= 2
        assert queue_flagged_answers(store, task_id) == 0  # never twice, even after a person has ruled
        queue = review.open_disputes(store)
        assert {v.key.question for v in queue} == flagged
        assert all(v.auto_status == "correct" for v in queue)  # the grader's verdict stays
        trail = review.history(store, queue[0].answer_id)
        assert trail[-1].source == "monitor" and "never appeared" in trail[-1].reason
        assert answer_flags(store, queue[0].answer_id)[0]["code"] == "answer_from_nowhere"
        summary = run_summary(store, "run-1")
        assert summary.accuracy == 1.0 and summary.open_disputes == len(flagged)
        assert summary.verified_accuracy == 0.0  # not verified until a person settles the flags


# ----------------------------------------------------------------------------- aggregates

def test_round_trip_through_details_json_and_the_funnel(capsule):
    good = run_diagnose(capsule, [PROMPT, bash("python3 code/analysis.py", RUN_OUTPUT), submit(RIGHT)], RIGHT,
                        all_status("correct"), "correct", produced=["summary.json"])
    broken = run_diagnose(capsule, [PROMPT, bash("python3 code/analysis.py", "exit code: 1\nKeyError: 'x'", 1)],
                          None, {}, "no_report")
    stored = [diagnosis_of(json.dumps({"grader": "tolerant", "diagnostics": d.to_json()})) for d in (good, broken)]
    assert stored[0] == good and stored[1] == broken
    assert diagnosis_of("{}") is None
    rows = {r.stage: (r.reached, r.total) for r in funnel(stored)}
    assert rows == {"deps_installed": (2, 2), "code_ran": (1, 2), "outputs_produced": (1, 2),
                    "report_written": (1, 2), "answers_correct": (1, 2)}
    text = "\n".join(funnel_lines(stored))
    assert "capsule code ran cleanly" in text and "code_error 1" in text


def test_a_constant_put_in_by_sed_is_flagged_but_sed_on_data_is_not(capsule):
    into_code = [PROMPT, bash("sed -i 's/round(sum(rows) \\/ len(rows), 4)/3.7333/' code/analysis.py"), submit(RIGHT)]
    flags = run_diagnose(capsule, into_code, RIGHT, all_status("correct"), "correct").flags
    assert [f["question"] for f in flags if f["code"] == "constant_edit"] == [MEAN]
    into_data = [PROMPT, bash("sed -i 's/1.4/3.7333/' data/petals.csv"), submit(RIGHT)]
    flags = run_diagnose(capsule, into_data, RIGHT, all_status("correct"), "correct").flags
    assert not [f for f in flags if f["code"] == "constant_edit"]


def test_the_run_page_escapes_what_the_agent_wrote_in_reasons_and_flags(capsule, tmp_path):
    from corebench_runner.report.site import build_site
    from corebench_runner.store.database import TaskRecord, claim_task, create_run, finish_task, open_store

    hostile = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"
    transcript = [PROMPT, bash(f"python3 code/analysis.py # {hostile}", f"exit code: 1\nValueError: {hostile}", 1),
                  bash(f"cat /home/x/{hostile}", "nope", 1)]
    d = run_diagnose(capsule, transcript, None, {}, "no_report")
    assert d.primary_reason["code"] == "code_error" and d.flags
    with open_store(tmp_path / "r.sqlite") as store:
        create_run(store, "run-x", model="m", scaffold="core-agent", scaffold_version="1", level="hard",
                   grader="tolerant", engine_version="0", host="h", config={}, tasks=[("tiny", 0, "hash")])
        task_id = store.query("SELECT id FROM tasks")[0]["id"]
        claim_task(store, task_id)
        finish_task(store, task_id, TaskRecord(outcome="no_report", answers=[], details={"diagnostics": d.to_json()}))
        build_site(store, tmp_path / "site")
    page = next((tmp_path / "site" / "runs").glob("*.html")).read_text()
    assert "funnel" in page and "code error" in page
    assert "<script>document" not in page and "<img src=x" not in page
    assert "&lt;script&gt;document.title=" in page
