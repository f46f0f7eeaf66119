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
from corebench_runner.store.database import VERIFIED_STATUS_SQL, Store, get_run, now_iso
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
class ReviewRecord:
    """One row of the audit trail."""

    id: int
    answer_id: int
    reviewer: str
    created: str
    old_status: str
    new_status: str
    reason: str
    source: str


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


_ANSWER_SELECT = f"""
    SELECT answers.id AS answer_id, tasks.run_id, tasks.capsule_id, tasks.repeat, answers.question,
           answers.reported_json, answers.references_json, answers.vision, answers.status AS auto_status,
           answers.reason AS auto_reason, {VERIFIED_STATUS_SQL} AS standing, tasks.transcript_path,
           runs.model, runs.scaffold, runs.level, runs.grader,
           answers.source, answers.source_evidence_json, answers.reproduced
    FROM answers JOIN tasks ON tasks.id = answers.task_id JOIN runs ON runs.id = tasks.run_id
"""


def _where(conditions: list[tuple[str, Any]]) -> tuple[str, list[Any]]:
    """A WHERE clause from (sql, value) pairs, leaving out those whose value is None."""
    used = [(sql, value) for sql, value in conditions if value is not None]
    clause = " WHERE " + " AND ".join(sql for sql, _ in used) if used else ""
    return clause, [value for _, value in used]


def find_answers(store: Store, *, run_id: str | None = None, model: str | None = None,
                 capsule_id: str | None = None, standing: str | None = None,
                 answer_ids: list[int] | None = None) -> list[AnswerView]:
    """Answers matching every filter given, in a stable order (run, capsule, repeat, question)."""
    ids = answer_ids or []
    where, params = _where([
        ("tasks.run_id = ?", resolve_run_id(store, run_id) if run_id is not None else None),
        ("runs.model IN (SELECT value FROM json_each(?))", _models_named(store, model)),
        ("tasks.capsule_id = ?", _known_capsule(store, capsule_id)),
        (f"{VERIFIED_STATUS_SQL} = ?", standing),
    ])
    if ids:
        where += (" AND " if where else " WHERE ") + f"answers.id IN ({', '.join('?' * len(ids))})"
        params.extend(ids)
    sql = _ANSWER_SELECT + where
    sql += " ORDER BY runs.created, tasks.run_id, tasks.capsule_id, tasks.repeat, answers.id"
    views = [_view(store, row) for row in store.query(sql, tuple(params))]
    if answer_ids:
        missing = sorted(set(answer_ids) - {v.answer_id for v in views})
        if missing:
            raise UserError(f"--answer {missing[0]}: no such answer in {store.path} (with the other filters "
                            "given); see the ids in `corebench review log` or `corebench review list`")
    return views


def _models_named(store: Store, model: str | None) -> str | None:
    """The stored model specs `--model` means (its display name or the spec itself), as a JSON list;
    an unknown model is a UserError naming the models the store holds, never an empty queue."""
    if model is None:
        return None
    stored = [row[0] for row in store.query("SELECT DISTINCT model FROM runs ORDER BY model")]
    matching = [spec for spec in stored if model in (spec, display_name(spec))]
    if not matching:
        known = ", ".join(dict.fromkeys(display_name(spec) for spec in stored)) or "none yet"
        raise UserError(f"--model {model}: no run of that model in {store.path}; models there: {known}")
    return json.dumps(matching)


def _known_capsule(store: Store, capsule_id: str | None) -> str | None:
    """`--capsule` as given, once the store is known to hold a task of it; else a UserError naming the capsules."""
    if capsule_id is None or store.conn.execute("SELECT 1 FROM tasks WHERE capsule_id = ? LIMIT 1",
                                                (capsule_id,)).fetchone():
        return capsule_id
    known = [row[0] for row in store.query("SELECT DISTINCT capsule_id FROM tasks ORDER BY capsule_id")]
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
    row = store.conn.execute(
        "SELECT answers.id FROM answers JOIN tasks ON tasks.id = answers.task_id "
        "WHERE tasks.run_id = ? AND tasks.capsule_id = ? AND tasks.repeat = ? AND answers.question = ?",
        (key.run_id, key.capsule_id, key.repeat, key.question)).fetchone()
    return row[0] if row else None


# ----------------------------------------------------------------------------- verdicts

class SettledMeanwhile(UserError):
    """A verdict given on what the reviewer saw, but someone else ruled on the answer since."""


def latest_review_id(store: Store, answer_id: int) -> int:
    """The id of the verdict standing on an answer, 0 when no one has ruled: what a reviewer "saw"."""
    row = store.conn.execute("SELECT MAX(id) FROM reviews WHERE answer_id = ?", (answer_id,)).fetchone()
    return row[0] or 0


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
    with store.transaction() as conn:
        old_status = store.latest_status(answer_id)
        if seen_review_id is not None and latest_review_id(store, answer_id) != seen_review_id:
            raise SettledMeanwhile(f"answer {answer_id} was ruled on by someone else since you opened it; it "
                                   f"now stands {old_status}. Nothing was recorded: read the new verdict "
                                   f"(`corebench review --answer {answer_id}`, or reload its page), then decide again")
        if new_status != old_status and not reason:
            raise UserError(f"answer {answer_id}: changing {old_status} to {new_status} needs a reason; "
                            "give one (--reason) saying why")
        cursor = conn.execute(
            "INSERT INTO reviews (answer_id, reviewer, created, old_status, new_status, reason, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", (answer_id, reviewer, created, old_status, new_status, reason, source))
    return ReviewRecord(cursor.lastrowid, answer_id, reviewer, created, old_status, new_status, reason, source)


def reopen(store: Store, answer_id: int, *, reviewer: str, reason: str) -> ReviewRecord:
    """Put any answer (even one graded correct or incorrect) back in the disputes queue."""
    if store.latest_status(answer_id) == "disputed":
        raise UserError(f"answer {answer_id} is already an open dispute; settle it with "
                        f"`corebench review --answer {answer_id}`")
    return record_verdict(store, answer_id, "disputed", reviewer=reviewer, reason=reason)


def history(store: Store, answer_id: int) -> list[ReviewRecord]:
    """Every verdict on one answer, oldest first; the last one stands."""
    rows = store.query("SELECT * FROM reviews WHERE answer_id = ? ORDER BY id", (answer_id,))
    return [_record(row) for row in rows]


def _record(row: Any) -> ReviewRecord:
    return ReviewRecord(row["id"], row["answer_id"], row["reviewer"], row["created"], row["old_status"],
                        row["new_status"], row["reason"], row["source"])


@dataclass(frozen=True)
class LogEntry:
    key: AnswerKey
    record: ReviewRecord


def review_log(store: Store, *, run_id: str | None = None, capsule_id: str | None = None,
               answer_id: int | None = None) -> list[LogEntry]:
    """The audit trail, oldest first, with each row's answer identity."""
    where, params = _where([
        ("tasks.run_id = ?", resolve_run_id(store, run_id) if run_id is not None else None),
        ("tasks.capsule_id = ?", capsule_id),
        ("reviews.answer_id = ?", answer_id),
    ])
    rows = store.query(
        "SELECT reviews.*, tasks.run_id, tasks.capsule_id, tasks.repeat, answers.question FROM reviews "
        "JOIN answers ON answers.id = reviews.answer_id JOIN tasks ON tasks.id = answers.task_id"
        + where + " ORDER BY reviews.id", tuple(params))
    return [LogEntry(AnswerKey(r["run_id"], r["capsule_id"], r["repeat"], r["question"]), _record(r))
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
    with store.transaction() as conn:
        for view, new_auto, new_reason in graded:
            conn.execute("UPDATE answers SET status = ?, reason = ? WHERE id = ?",
                         (new_auto, new_reason, view.answer_id))
            human = conn.execute(
                f"SELECT new_status FROM reviews WHERE answer_id = ? AND source IN ({', '.join('?' * len(HUMAN_SOURCES))}) "
                "ORDER BY id DESC LIMIT 1",
                (view.answer_id, *HUMAN_SOURCES)).fetchone()
            if new_auto != view.auto_status:
                changed.append(RegradeChange(view, view.auto_status, new_auto, new_reason))
                if human is None and new_auto != view.standing:
                    conn.execute(
                        "INSERT INTO reviews (answer_id, reviewer, created, old_status, new_status, reason, source) "
                        "VALUES (?, ?, ?, ?, ?, ?, 'regrade')",
                        (view.answer_id, reviewer, now_iso(), view.standing, new_auto,
                         f"regraded with {grader_name}: {new_reason}"))
            if human is not None and human[0] != new_auto:
                disagreements.append((view, new_auto))
        _refresh_task_outcomes(conn, run_id)
        conn.execute("UPDATE runs SET grader = ? WHERE id = ?", (grader_name, run_id))
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


def _refresh_task_outcomes(conn: Any, run_id: str) -> None:
    """Graded tasks take the outcome of their new automatic verdicts; failures (timeout, ...) stay as they were."""
    graded = ", ".join(f"'{status}'" for status in STATUSES)
    tasks = conn.execute(f"SELECT id FROM tasks WHERE run_id = ? AND outcome IN ({graded})", (run_id,)).fetchall()
    for (task_id,) in tasks:
        statuses = [row[0] for row in conn.execute("SELECT status FROM answers WHERE task_id = ?", (task_id,))]
        if statuses:
            conn.execute("UPDATE tasks SET outcome = ? WHERE id = ?", (task_outcome(statuses), task_id))
