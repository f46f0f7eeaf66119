"""One huge answer must not take the host down: report.json is read up to a cap, and every monitor
(shortcut flags, answer leaks, a reviewer's evidence) takes time and memory in proportion to the
transcript and the answer, never building a pattern out of the answer or scanning it once per step.
"""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest

from corebench_runner.capsules.answer_leaks import answer_leaks, distinctive
from corebench_runner.capsules.format import load_capsule
from corebench_runner.diagnostics import diagnose
from corebench_runner.diagnostics.inputs import task_spec_for
from corebench_runner.review.evidence import excerpt, find_evidence
from support_capsules import good_capsule_doc, write_capsule

MEAN = "Report the mean petal length, rounded to 4 decimal places."
HUGE = 20 * 1024 * 1024
TIME_LIMIT = 30.0  # seconds: generous on a busy 2-core machine; quadratic or regex-built work takes minutes
MEMORY_LIMIT = 400 * 1024 * 1024  # a few copies of the answer at most, never gigabytes


def _measured(work):
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = work()
        return result, time.monotonic() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _huge_words() -> str:
    words = ("petal sepal length width setosa virginica versicolor " * (HUGE // 50 + 1))
    return words[:HUGE]


def _bash(command: str, output: str) -> dict:
    return {"type": "tool_call", "name": "bash", "input": {"command": command}, "output": output, "exit_code": 0,
            "timed_out": False, "is_error": False}


@pytest.mark.parametrize("answer", [_huge_words(), "x" * HUGE], ids=["words", "one-word"])
def test_a_20mb_answer_is_diagnosed_in_seconds_with_bounded_memory(tmp_path, answer):
    capsule = load_capsule(write_capsule(tmp_path / "capsules", "tiny"))
    # The agent prints a lot, then writes the huge answer itself: every monitor meets it in many steps.
    transcript = [_bash(f"python3 code/analysis.py --part {n}", "mean petal length 3.7333\n" * 200)
                  for n in range(200)]
    transcript.append(_bash("python3 - <<'EOF'\nprint(open('/workspace/big.txt').read())\nEOF", answer[:1_000_000]))
    transcript.append({"type": "tool_call", "name": "submit", "input": {"answers": {MEAN: answer}},
                       "output": "accepted", "accepted": True, "is_error": False})
    diagnosis, seconds, peak = _measured(lambda: diagnose(
        task_spec_for(capsule, "medium"), transcript, {MEAN: answer}, {MEAN: "correct"}, "correct", None, capsule,
        produced_files=[]))
    assert seconds < TIME_LIMIT and peak < MEMORY_LIMIT, (seconds, peak)
    assert [f["code"] for f in diagnosis.flags] == ["answer_from_nowhere"]  # still judged, not skipped


def test_a_20mb_reference_answer_is_checked_for_leaks_in_seconds(tmp_path):
    answer = _huge_words()
    doc = good_capsule_doc("tiny")
    doc["questions"][1]["runs"] = [answer]
    folder = write_capsule(tmp_path / "capsules", "tiny", doc)
    (folder / "code" / "notes.txt").write_text("petal sepal length width " * 200_000)
    capsule = load_capsule(folder)
    problems, seconds, peak = _measured(lambda: answer_leaks(capsule))
    assert seconds < TIME_LIMIT and peak < MEMORY_LIMIT, (seconds, peak)
    assert problems == []  # the notes hold words of the answer, never the whole of it
    _, seconds, _ = _measured(lambda: distinctive(answer))
    assert seconds < 10


def test_evidence_for_a_20mb_answer_is_found_in_seconds(tmp_path):
    answer = _huge_words()
    transcript = tmp_path / "transcript.json"
    events = [_bash(f"step {n}", "line\n" * 10_000) for n in range(100)] + [_bash("cat big.txt", answer)]
    transcript.write_text(json.dumps(events))

    def work():
        evidence = find_evidence(transcript, answer)
        return [excerpt(step, answer) for step in evidence.steps]
    excerpts, seconds, _ = _measured(work)
    assert seconds < TIME_LIMIT
    assert excerpts and all(len(lines) <= 6 for lines in excerpts)


@pytest.mark.parametrize("written, reason", [
    ('{"q": "' + "x" * (2 * 1024 * 1024) + '"}', "holds 2097161 bytes, over the 1048576 byte cap"),
    ("[" * 100_000 + "]" * 100_000, "not valid JSON (nested too deep)"),
    ('{"q": ' + "7" * 5000 + "}", "not valid JSON (Exceeds the limit"),
])
def test_reports_too_large_too_deep_or_too_long_a_number_are_invalid_in_one_line(written, reason):
    import warnings

    from corebench_runner.running.outputs import read_report
    from corebench_runner.sandbox.base import SandboxSpec
    from corebench_runner.sandbox.local import LocalSandbox

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sandbox = LocalSandbox(SandboxSpec(image="none"))
    try:
        sandbox.write_file("report.json", written)
        report = read_report(sandbox, "report.json")
    finally:
        sandbox.close()
    assert report.state == "invalid" and reason in report.problem and "\n" not in report.problem, report.problem
