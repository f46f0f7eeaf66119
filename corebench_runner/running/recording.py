"""The driver half of a task: grade a worker's Attempt, decide the outcome, keep artifacts, build the record.

Grading happens here, on the driver, so reference answers never travel to a worker or a container.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import uuid
from pathlib import Path
from typing import Any

from corebench_runner.capsules.format import Capsule
from corebench_runner.capsules.levels import RECIPE_NAME
from corebench_runner.diagnostics import DETAILS_KEY, Diagnosis, diagnose, diagnosis_failed
from corebench_runner.diagnostics.inputs import produced_paths, task_spec_for
from corebench_runner.grading.loop import grade_report
from corebench_runner.records import Outcome, Verdict, VerdictStatus, outcome_from_verdicts
from corebench_runner.running.task import EARLIER_USAGE_KEY, Attempt
from corebench_runner.running.verify import RERUN_KEY
from corebench_runner.sandbox.archive import drop_links_out
from corebench_runner.store.database import AnswerRecord, TaskRecord

RERUN_ARTIFACT = "rerun.json"
# Outcomes decided before grading: the task never produced answers worth grading.
UNGRADED = (Outcome.INFRA_ERROR, Outcome.SKIPPED)


def grade_answers(capsule: Capsule, grader: Any, report: dict[str, Any] | None) -> list[AnswerRecord]:
    """One AnswerRecord per question of the capsule, graded by the one grading loop (grading.loop)."""
    report = report or {}
    graded = grade_report(grader, capsule.questions, report)
    return [AnswerRecord(question=q.text, reported=report.get(q.text), reported_present=g.reported,
                         references=list(q.runs), vision=q.vision, status=g.status.value, reason=g.reason)
            for q, g in zip(capsule.questions, graded.grades)]


def decide_outcome(attempt: Attempt, answers: list[AnswerRecord]) -> Outcome:
    """How the worker settled the task (running/outputs.settle: the scaffold's ending, or the report's
    absence or damage), else the verdicts."""
    if attempt.submission.outcome is not None:
        return Outcome(attempt.submission.outcome)
    return outcome_from_verdicts(a.status for a in answers)


def build_record(attempt: Attempt, capsule: Capsule, grader: Any, grader_name: str, model: str) -> TaskRecord:
    """Grade and decide; the caller writes the returned record, and write_artifacts, in one transaction."""
    submission = attempt.submission
    graded = Outcome(submission.outcome) not in UNGRADED if submission.outcome else True
    answers = grade_answers(capsule, grader, attempt.report) if graded else []
    outcome = decide_outcome(attempt, answers)
    diagnosis = _diagnose(attempt, capsule, answers, outcome)  # stages, reason, flags
    rerun = attempt.details.get(RERUN_KEY)
    _trace_answers(answers, diagnosis, rerun)
    error = submission.error or (attempt.report_problem or None)

    relative = artifacts_folder(attempt)
    produced = (relative / "produced").as_posix() if attempt.results_tar else None

    usage = submission.usage
    details = dict(attempt.details)
    details.update(grader=grader_name, report_state=attempt.report_state, infra_attempts=attempt.infra_attempts,
                   calls=usage.calls)
    details[DETAILS_KEY] = diagnosis.to_json()
    if rerun:  # its output tail is an artifact (rerun.json), not part of the task's row
        details[RERUN_KEY] = {k: v for k, v in rerun.items() if k != "output_tail"}
    return TaskRecord(
        outcome=outcome.value, model=model, error=error, seconds=round(submission.seconds, 3), steps=submission.steps,
        usage=usage, answers=answers, transcript_path=(relative / "transcript.json").as_posix(), artifacts_dir=produced,
        usage_calls=_usage_per_call(submission.transcript, attempt.details.get(EARLIER_USAGE_KEY)),
        usage_live=attempt.usage_live, details=details, rerun_seconds=rerun.get("seconds") if rerun else None)


def _trace_answers(answers: list[AnswerRecord], diagnosis: Diagnosis, rerun: dict[str, Any] | None) -> None:
    """Each answer's source (from the diagnosis) and, after run --verify, whether the re-run reproduced it."""
    reproduced = (rerun or {}).get("answers") or {}
    for answer in answers:
        traced = diagnosis.sources.get(answer.question)
        if traced is not None and answer.reported_present:
            answer.source, answer.source_evidence = traced.source, traced.evidence()
        if answer.reported_present:
            answer.reproduced = reproduced.get(answer.question)


def artifacts_folder(attempt: Attempt) -> Path:
    """The task's folder, relative to the artifacts root."""
    return Path(attempt.job.run_id) / f"{attempt.job.capsule_id}-r{attempt.job.repeat}"


def write_artifacts(attempt: Attempt, artifacts_root: Path) -> None:
    """Save the transcript, the report as written and the produced files. Called by store.finish_task's
    `also`, so only the process that records the task writes them, and only when it does.

    The task's folder is replaced whole: built beside it, then swapped in. So it never mixes files
    of two attempts (a process killed after writing them but before its record committed leaves
    files that no recorded attempt owns: a later record must not keep its report.json), and a
    failed write (a full disk) leaves nothing half-saved.
    """
    folder = artifacts_root / artifacts_folder(attempt)
    folder.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers_of(folder)
    staging = folder.with_name(f"{_staging_stem(folder)}{uuid.uuid4().hex[:8]}")
    try:
        staging.mkdir()
        (staging / "transcript.json").write_text(json.dumps(attempt.submission.transcript, indent=1,
                                                            ensure_ascii=False, default=str), encoding="utf-8")
        if attempt.report_raw is not None:
            (staging / "report.json").write_text(attempt.report_raw, encoding="utf-8")
        if attempt.results_tar:
            _unpack(attempt.results_tar, staging / "produced")
        if attempt.recipe is not None:  # for `corebench verify RUN`, and for a person to read
            (staging / RECIPE_NAME).write_bytes(attempt.recipe)
        if attempt.details.get(RERUN_KEY):  # run --verify: the re-run's exit code, time, verdicts and output tail
            (staging / RERUN_ARTIFACT).write_text(json.dumps(attempt.details[RERUN_KEY], indent=1, ensure_ascii=False),
                                                  encoding="utf-8")
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)  # the task is not recorded: no half-saved files
        if isinstance(exc, OSError):
            raise OSError(exc.errno, exc.strerror, str(folder)) from exc  # the task's folder, not the staging one
        raise
    if folder.exists():
        folder.rename(staging.with_name(f"{_staging_stem(folder)}replaced"))
    staging.rename(folder)
    _remove_leftovers_of(folder)


# Folders beside a task's own while it is being written; any found later were left by a killed process.
STAGING_PREFIX = ".writing-"


def _staging_stem(folder: Path) -> str:
    return f"{STAGING_PREFIX}{folder.name}~"


def _remove_leftovers_of(folder: Path) -> None:
    """Staging folders of this task left by a killed process. Only one process is ever here at a time
    (this runs inside the store's write transaction), so none of them is still being written."""
    for leftover in folder.parent.iterdir():
        if leftover.name.startswith(_staging_stem(folder)):
            shutil.rmtree(leftover, ignore_errors=True)


def _diagnose(attempt: Attempt, capsule: Capsule, answers: list[AnswerRecord], outcome: Outcome) -> Diagnosis:
    """Diagnostics for the record; they never decide the outcome except via queue_flagged."""
    submission = attempt.submission
    try:
        return diagnose(task_spec_for(capsule, attempt.job.level), submission.transcript, attempt.report,
                        {a.question: Verdict(VerdictStatus(a.status), a.reason) for a in answers}, outcome.value,
                        submission.error or attempt.report_problem, capsule,
                        produced_files=produced_paths(attempt.results_tar))
    except Exception as exc:  # a diagnostics bug must never lose a finished task
        return diagnosis_failed(exc)


def _usage_per_call(transcript: list[dict[str, Any]], earlier: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """The usage of each model call, from `model_call` events (docs/models.md), plus one row for what
    retried attempts spent; None when a scaffold logs none (the store then keeps the task's total)."""
    calls = [event["usage"] for event in transcript
             if isinstance(event, dict) and event.get("type") == "model_call" and isinstance(event.get("usage"), dict)]
    if calls and earlier:
        calls.append(earlier)
    return calls or None


def _unpack(data: bytes, dest: Path) -> None:
    """Unpack an agent-made archive with tarfile's 'data' filter: no links out, no devices, no absolute paths."""
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(dest, filter="data")
    drop_links_out(dest)  # links that leave the copy by a chain of relative links pass the filter one by one
