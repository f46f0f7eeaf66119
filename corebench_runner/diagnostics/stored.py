"""Diagnoses as kept in the store: read them back for `corebench show`, the reports and review."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from corebench_runner.diagnostics import FLAG_PREFIX, MONITOR_REVIEWER, MONITOR_SOURCE, Diagnosis
from corebench_runner.diagnostics.provenance import suspect
from corebench_runner.diagnostics.summary import diagnosis_of, funnel
from corebench_runner.store.database import Store, get_run, now_iso
from corebench_runner.store.diagnoses import answer_question_and_details, answers_not_queued_by, task_details_json
from corebench_runner.store.harness_spending import harness_spending
from corebench_runner.store.results import run_summary, task_details
from corebench_runner.store.runs import finished_tasks
from corebench_runner.store.verdicts import add_review


def run_diagnoses(store: Store, run_id: str) -> dict[int, Diagnosis]:
    """task id -> Diagnosis for the finished tasks of a run that were recorded with one."""
    rid = get_run(store, run_id)["id"]
    found = {}
    for row in finished_tasks(store, rid):
        diagnosis = diagnosis_of(row["details_json"])
        if diagnosis is not None:
            found[row["id"]] = diagnosis
    return found


def add_to_show_json(data: dict[str, Any], store: Store, run_id: str) -> dict[str, Any]:
    """Give each task of a `show --json` document its `stages`, `primary_reason` and `flags`."""
    diagnoses = run_diagnoses(store, run_id)
    for task in data.get("tasks", []):
        diagnosis = diagnoses.get(task.get("task_id"))
        task["stages"] = diagnosis.stages if diagnosis else None
        task["primary_reason"] = diagnosis.primary_reason if diagnosis else None
        task["flags"] = diagnosis.flags if diagnosis else []
        task["failure_summary"] = diagnosis.summary if diagnosis else None
    return data


def answer_flags(store: Store, answer_id: int) -> list[dict[str, Any]]:
    """The shortcut flags that concern one answer (for the review screen)."""
    row = answer_question_and_details(store, answer_id)
    if row is None:
        return []
    diagnosis = diagnosis_of(row["details_json"])
    return diagnosis.flags_for(row["question"]) if diagnosis else []


def queue_flagged_answers(store: Store, task_id: int) -> int:
    """Put each correct answer of a task that a shortcut monitor flagged in the review queue.

    The grader's verdict (answers.status) and so the run's accuracy stay as graded; an audit-trail
    row from the monitor makes the standing status "disputed", with the flags as its reason, so
    `corebench review` shows the answer until a person settles it. Returns how many were queued.
    """
    with store.transaction() as conn:
        return queue_flagged_in(conn, task_id)


def queue_flagged_in(conn: sqlite3.Connection, task_id: int) -> int:
    """queue_flagged_answers inside a transaction the caller holds (the run engine's finish_task),
    so a task is never recorded without its monitor rows."""
    diagnosis = diagnosis_of(task_details_json(conn, task_id))
    if diagnosis is None or not diagnosis.flags:
        return 0
    queued = 0
    for answer in answers_not_queued_by(conn, task_id, MONITOR_SOURCE):  # once per answer, even if re-run
        flags = diagnosis.flags_for(answer["question"])
        if answer["standing"] != "correct" or not flags:
            continue
        reason = FLAG_PREFIX + "; ".join(f["message"] for f in flags)
        add_review(conn, answer["id"], reviewer=MONITOR_REVIEWER, created=now_iso(), old_status="correct",
                   new_status="disputed", reason=reason, source=MONITOR_SOURCE)
        queued += 1
    return queued


# ----------------------------------------------------------------- suspect answers (provenance)

SUSPECT_PREFIX = "correct, suspect: "
SUSPECT_REVIEWER = "provenance-check"  # who the audit trail says queued a suspect answer
SUSPECT_SOURCE = "provenance"


def queue_suspect_in(conn: sqlite3.Connection, task_id: int) -> int:
    """Put each correct answer of a task whose source is simulated, typed or (medium, hard) shipped, or whose
    re-run contradicts it, in the review queue, inside the caller's transaction (finish_task's).

    As with the shortcut monitors: answers.status stays correct; a row from the check makes the standing
    status disputed, with the source and its evidence as the reason, until a person rules. Called right
    after queue_flagged_in: an answer a monitor queued gets this row too, so its evidence is in the trail.
    """
    queued = 0
    for answer in answers_not_queued_by(conn, task_id, SUSPECT_SOURCE):
        why = suspect(answer["source"], answer["reproduced"], answer["level"])
        # Graded correct and not yet settled by a person (a monitor's row may already stand: add the evidence).
        if answer["status"] != "correct" or answer["standing"] not in ("correct", "disputed") or not why:
            continue
        add_review(conn, answer["id"], reviewer=SUSPECT_REVIEWER, created=now_iso(), old_status=answer["standing"],
                   new_status="disputed", reason=SUSPECT_PREFIX + why + _evidence_text(answer), source=SUSPECT_SOURCE)
        queued += 1
    return queued


def _evidence_text(answer: sqlite3.Row) -> str:
    evidence = json.loads(answer["source_evidence_json"] or "{}")
    parts = [evidence.get("note") or "", f"command: {evidence['command']}" if evidence.get("command") else "",
             "lines: " + " | ".join(evidence["lines"]) if evidence.get("lines") else ""]
    return "".join(f"; {part}" for part in parts if part)


def run_page_diagnostics(store: Store, run_id: str) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """For a report's run page: the funnel rows and, per task id, its diagnosis as plain data."""
    diagnoses = run_diagnoses(store, run_id)
    rows = [{"stage": r.stage, "label": r.label, "reached": r.reached, "total": r.total, "unknown": r.unknown,
             "percent": round(100 * r.share)} for r in funnel(diagnoses.values())] if diagnoses else []
    return rows, {task_id: d.to_json() for task_id, d in diagnoses.items()}


def show_json(store: Store, run_id: str) -> dict[str, Any]:
    """The `corebench show RUN_ID --json` contract: {"run": {...}, "tasks": [...]}, each task with its diagnosis."""
    summary = run_summary(store, run_id)
    data = {"run": {**summary.to_json(),
                    "harness_spending": [s.to_json() for s in harness_spending(store, summary.id)]},
            "tasks": [task.to_json() for task in task_details(store, run_id)]}
    return add_to_show_json(data, store, run_id)
