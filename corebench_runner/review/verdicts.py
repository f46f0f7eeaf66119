"""Human review of graded answers: the disputes queue, verdicts with an audit trail, re-grading.

The automatic verdict lives in answers.status; every human decision is a new row in
`reviews` (nothing is updated or deleted there) and the latest row stands. An "open
dispute" is an answer whose standing status is "disputed". Export and import of verdicts
live in exchange.py; the evidence shown to a reviewer in evidence.py.
"""

from __future__ import annotations

import getpass
import json
import subprocess
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

from corebench_runner.capsules.format import Question
from corebench_runner.errors import UserError
from corebench_runner.grading.loop import grade_report
from corebench_runner.models.names import display_name
from corebench_runner.records import outcome_from_verdicts
from corebench_runner.store import answers as stored_answers
from corebench_runner.store.database import Store, get_run, now_iso
from corebench_runner.store.verdicts import (
    ReviewRecord,
    add_review,
    latest_review_id as _latest_review_id,
    latest_status_from,
    refresh_graded_outcomes,
    review_log_rows,
    review_record,
    reviews_of,
    set_automatic_verdict,
    set_run_grader,
)
from corebench_runner.store.verification import PERSON_SOURCES

STATUSES = ("correct", "incorrect", "disputed")
HUMAN_SOURCES = PERSON_SOURCES  # rows written by people; others ("regrade", "monitor") are machines


@dataclass(frozen=True)
class AnswerKey:
    """Identifies an answer across stores: run ids are copied with the store, answer ids are not."""

    run_id: str
    capsule_id: str
    repeat: int
    question: str


@dataclass(frozen=True)
class AnswerView:
    """Everything a reviewer needs about one answer."""

    answer_id: int
    key: AnswerKey
    model: str
    scaffold: str
    level: str
    grader: str
    reported: Any
    reported_present: bool
    references: tuple[Any, ...]
    vision: bool
    auto_status: str
    auto_reason: str
    standing: str
    transcript: Path | None  # absolute path of the task's transcript, when one was kept
    source: str | None = None  # where the value came from (diagnostics/provenance.py)
    source_evidence: dict[str, Any] | None = None  # {command, lines, note}
    reproduced: str | None = None  # after run --verify: yes | no | no_recipe | rerun_failed


def default_reviewer() -> str:
    """git's user.name when set, else the OS user: who a verdict is from, unless --reviewer says."""
    try:
        name = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True,
                              timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        name = ""
    return name or getpass.getuser()


def resolve_run_id(store: Store, run_id: str) -> str:
    """An exact run id, or a unique prefix of one (ids are long; people type the start)."""
    return get_run(store, run_id)["id"]


def find_answers(store: Store, *, run_id: str | None = None, model: str | None = None,
                 capsule_id: str | None = None, standing: str | None = None,
                 answer_ids: list[int] | None = None) -> list[AnswerView]:
    """Answers matching every filter given, in a stable order (run, capsule, repeat, question)."""
    rows = stored_answers.answer_rows(
        store, run_id=resolve_run_id(store, run_id) if run_id is not None else None,
        models=_models_named(store, model), capsule_id=_known_capsule(store, capsule_id), standing=standing,
        answer_ids=answer_ids)
    views = [_view(store, row) for row in rows]
    if answer_ids:
        missing = sorted(set(answer_ids) - {v.answer_id for v in views})
        if missing:
            raise UserError(f"--answer {missing[0]}: no such answer in {store.path} (with the other filters "
                            "given); see the ids in `corebench review log` or `corebench review list`")
    return views


def _models_named(store: Store, model: str | None) -> list[str] | None:
    """The stored model specs `--model` means (its display name or the spec itself); an unknown model
    is a UserError naming the models the store holds, never an empty queue."""
    if model is None:
        return None
    stored = stored_answers.stored_models(store)
    matching = [spec for spec in stored if model in (spec, display_name(spec))]
    if not matching:
        known = ", ".join(dict.fromkeys(display_name(spec) for spec in stored)) or "none yet"
        raise UserError(f"--model {model}: no run of that model in {store.path}; models there: {known}")
    return matching


def _known_capsule(store: Store, capsule_id: str | None) -> str | None:
    """`--capsule` as given, once the store is known to hold a task of it; else a UserError naming the capsules."""
    if capsule_id is None or stored_answers.holds_capsule(store, capsule_id):
        return capsule_id
    known = stored_answers.stored_capsules(store)
    shown = ", ".join(known[:20]) + (f" (and {len(known) - 20} more)" if len(known) > 20 else "")
    raise UserError(f"--capsule {capsule_id}: no task of that capsule in {store.path}; capsules there: "
                    f"{shown or 'none yet'}")


def open_disputes(store: Store, **filters: Any) -> list[AnswerView]:
    """The review queue: answers whose standing status is "disputed"."""
    return find_answers(store, standing="disputed", **filters)


def get_answer(store: Store, answer_id: int) -> AnswerView:
    return find_answers(store, answer_ids=[answer_id])[0]


def _view(store: Store, row: Any) -> AnswerView:
    present = row["reported_json"] is not None
    transcript = store.artifacts_dir / row["transcript_path"] if row["transcript_path"] else None
    return AnswerView(
        answer_id=row["answer_id"],
        key=AnswerKey(row["run_id"], row["capsule_id"], row["repeat"], row["question"]),
        model=display_name(row["model"]), scaffold=row["scaffold"], level=row["level"], grader=row["grader"],
        reported=json.loads(row["reported_json"]) if present else None,
        reported_present=present,
        references=tuple(json.loads(row["references_json"])),
        vision=bool(row["vision"]),
        auto_status=row["auto_status"], auto_reason=row["auto_reason"], standing=row["standing"],
        transcript=transcript,
        source=row["source"], reproduced=row["reproduced"],
        source_evidence=json.loads(row["source_evidence_json"]) if row["source_evidence_json"] else None,
    )


def answer_id_for(store: Store, key: AnswerKey) -> int | None:
    return stored_answers.answer_id_for(store, key.run_id, key.capsule_id, key.repeat, key.question)


# ----------------------------------------------------------------------------- verdicts

class SettledMeanwhile(UserError):
    """A verdict given on what the reviewer saw, but someone else ruled on the answer since."""


def latest_review_id(store: Store, answer_id: int) -> int:
    """The id of the verdict standing on an answer, 0 when no one has ruled: what a reviewer "saw"."""
    return _latest_review_id(store, answer_id)


def record_verdict(store: Store, answer_id: int, new_status: str, *, reviewer: str, reason: str = "",
                   source: str = "cli", created: str | None = None,
                   seen_review_id: int | None = None) -> ReviewRecord:
    """Append a verdict. A change of status needs a reason; the old status is read in the same transaction.

    `seen_review_id` (from latest_review_id when the answer was shown) refuses the verdict when
    another verdict was recorded since, so one reviewer never silently overrules another.
    """
    if new_status not in STATUSES:
        raise UserError(f"verdict {new_status!r}: choose one of {', '.join(STATUSES)}")
    if not reviewer.strip():
        raise UserError("--reviewer: a verdict needs a reviewer name; pass --reviewer NAME")
    reason = reason.strip()
    created = created or now_iso()
    with store.transaction() as conn:  # the standing verdict is read and the new one written in one transaction
        old_status = store.latest_status(answer_id)
        if seen_review_id is not None and latest_review_id(store, answer_id) != seen_review_id:
            raise SettledMeanwhile(f"answer {answer_id} was ruled on by someone else since you opened it; it "
                                   f"now stands {old_status}. Nothing was recorded: read the new verdict "
                                   f"(`corebench review --answer {answer_id}`, or reload its page), then decide again")
        if new_status != old_status and not reason:
            raise UserError(f"answer {answer_id}: changing {old_status} to {new_status} needs a reason; "
                            "give one (--reason) saying why")
        review_id = add_review(conn, answer_id, reviewer=reviewer, created=created, old_status=old_status,
                               new_status=new_status, reason=reason, source=source)
    return ReviewRecord(review_id, answer_id, reviewer, created, old_status, new_status, reason, source)


def reopen(store: Store, answer_id: int, *, reviewer: str, reason: str) -> ReviewRecord:
    """Put any answer (even one graded correct or incorrect) back in the disputes queue."""
    if store.latest_status(answer_id) == "disputed":
        raise UserError(f"answer {answer_id} is already an open dispute; settle it with "
                        f"`corebench review --answer {answer_id}`")
    return record_verdict(store, answer_id, "disputed", reviewer=reviewer, reason=reason)


def history(store: Store, answer_id: int) -> list[ReviewRecord]:
    """Every verdict on one answer, oldest first; the last one stands."""
    return reviews_of(store, answer_id)


@dataclass(frozen=True)
class LogEntry:
    key: AnswerKey
    record: ReviewRecord


def review_log(store: Store, *, run_id: str | None = None, capsule_id: str | None = None,
               answer_id: int | None = None) -> list[LogEntry]:
    """The audit trail, oldest first, with each row's answer identity."""
    rows = review_log_rows(store, run_id=resolve_run_id(store, run_id) if run_id is not None else None,
                           capsule_id=capsule_id, answer_id=answer_id)
    return [LogEntry(AnswerKey(r["run_id"], r["capsule_id"], r["repeat"], r["question"]), review_record(r))
            for r in rows]


# ----------------------------------------------------------------------------- re-grading

@dataclass(frozen=True)
class RegradeChange:
    answer: AnswerView
    old_auto: str
    new_auto: str
    new_reason: str


@dataclass
class RegradeResult:
    graded: int
    changed: list[RegradeChange]
    disagreements: list[tuple[AnswerView, str]]  # (answer with a human verdict, the new automatic status)
    verdicts: list[tuple[AnswerView, str, str]] = field(default_factory=list)  # every answer: (view, before, after)


def regrade(store: Store, run_id: str, grader: Any, grader_name: str, *, reviewer: str,
            questions: dict[tuple[str, str], Question] | None = None) -> RegradeResult:
    """Grade a run's answers again with `grader`, each task on the report it was graded on (see
    graded_report); human verdicts stay and stand.

    The automatic verdict (answers.status/reason) is replaced, and each change is also
    written to the audit trail (source "regrade") when no person has ruled on that answer,
    so the history says why the standing status moved. Where a person has ruled and now
    disagrees with the grader, the answer is listed in `disagreements`. `questions` maps
    (capsule_id, question text) to the suite's Question, for per-question tolerances.
    """
    run_id = resolve_run_id(store, run_id)
    views = find_answers(store, run_id=run_id)
    changed: list[RegradeChange] = []
    disagreements: list[tuple[AnswerView, str]] = []
    graded = []
    # Task by task through the one grading loop, on the report the run graded, as a run grades.
    for _, answers in groupby(views, key=lambda view: (view.key.capsule_id, view.key.repeat)):
        answers = list(answers)
        task_questions = [_question(view, questions or {}) for view in answers]
        grade = grade_report(grader, task_questions, graded_report(store, answers))
        graded.extend((view, g.status.value, g.reason) for view, g in zip(answers, grade.grades))
    with store.transaction() as conn:  # every new verdict, its trail rows, the outcomes and the grader, or none
        for view, new_auto, new_reason in graded:
            set_automatic_verdict(conn, view.answer_id, new_auto, new_reason)
            human = latest_status_from(conn, view.answer_id, HUMAN_SOURCES)
            if new_auto != view.auto_status:
                changed.append(RegradeChange(view, view.auto_status, new_auto, new_reason))
                if human is None and new_auto != view.standing:
                    add_review(conn, view.answer_id, reviewer=reviewer, created=now_iso(), old_status=view.standing,
                               new_status=new_auto, reason=f"regraded with {grader_name}: {new_reason}",
                               source="regrade")
            if human is not None and human != new_auto:
                disagreements.append((view, new_auto))
        refresh_graded_outcomes(conn, run_id)
        set_run_grader(conn, run_id, grader_name)
    return RegradeResult(graded=len(graded), changed=changed, disagreements=disagreements,
                         verdicts=[(view, view.auto_status, new_auto) for view, new_auto, _ in graded])


def _question(view: AnswerView, known: dict[tuple[str, str], Question]) -> Question:
    """The question as stored with the answer, with the suite's tolerance when the capsule is at hand."""
    suite_question = known.get((view.key.capsule_id, view.key.question))
    return Question(view.key.question, runs=view.references, vision=view.vision,
                    tolerance=suite_question.tolerance if suite_question else None, capsule_id=view.key.capsule_id)


def graded_report(store: Store, answers: list[AnswerView]) -> dict[str, Any]:
    """The report a task was graded on: its report.json, kept beside its transcript, so an answer given
    under a near-identical key is graded again too; else (a store copied without its artifacts, a
    report that was not a JSON object) the answers stored under the questions' own keys."""
    transcript = answers[0].transcript if answers else None
    if transcript is not None:
        kept = transcript.parent / "report.json"
        try:
            if kept.resolve().is_relative_to(store.artifacts_dir.resolve()):
                report = json.loads(kept.read_text(encoding="utf-8"))
                if isinstance(report, dict):
                    return report
        except (OSError, ValueError, RecursionError):  # not kept, or not JSON: the stored answers are what was graded
            pass
    return {view.key.question: view.reported for view in answers if view.reported_present}


def task_outcome(statuses: list[str]) -> str:
    """A graded task's outcome from its verdicts (the run engine's rule)."""
    return outcome_from_verdicts(statuses).value
