"""How a run's number moved from automatic to verified, line by line, for its run page.

    automatic                          20 of 44 tasks
    + disputes settled correct         +3   (each task, its answers' verdicts and reasons)
    - answers a person rejected        -1
    tasks set aside                    -1 correct, 2 tasks out of the count (each with its reason)
    = verified                         21 of 42 valid tasks

The lines add up: verified = automatic + settled - rejected - correct tasks set aside, by
construction from the same per-task verdicts as store/verification.py. A task's change is
explained by the answers whose standing verdict differs from the grader's (and by set-aside
questions, which leave the task judged on the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from corebench_runner.store.database import Store
from corebench_runner.store.results import RunSummary, TaskDetail, task_details


@dataclass
class Change:
    """One answer's part in a task's move: its verdict (linked by answer id) or its question set aside."""

    answer_id: int
    question: str
    before: str
    after: str  # a status, or "set aside"
    reviewer: str = ""
    reason: str = ""
    source: str = ""


@dataclass
class MovedTask:
    task_id: int
    capsule_id: str
    repeat: int
    changes: list[Change] = field(default_factory=list)


@dataclass
class MovementLine:
    key: str  # automatic | settled | rejected | set_aside | verified
    label: str
    count: str  # what the line adds or states, in words
    tasks: list[MovedTask] = field(default_factory=list)
    set_asides: list[dict[str, Any]] = field(default_factory=list)  # the set-aside items, with reasons


def _changes(task: TaskDetail, verdicts_of_answer: dict[int, list[dict[str, Any]]]) -> list[Change]:
    changes = []
    for q in task.questions:
        if q.set_aside:
            changes.append(Change(q.answer_id, q.question, q.verified_status, "set aside"))
        elif q.verified_status != q.status:
            standing = next((v for v in verdicts_of_answer.get(q.answer_id, []) if v.get("standing")), {})
            changes.append(Change(q.answer_id, q.question, q.status, q.verified_status, standing.get("reviewer", ""),
                                  standing.get("reason", ""), standing.get("source", "")))
    return changes


def _moved(task: TaskDetail, verdicts_of_answer: dict[int, list[dict[str, Any]]]) -> MovedTask:
    return MovedTask(task.task_id, task.capsule_id, task.repeat, _changes(task, verdicts_of_answer))


def movement(store: Store, summary: RunSummary,
             verdicts_of_answer: dict[int, list[dict[str, Any]]]) -> list[MovementLine]:
    """The lines from automatic to verified accuracy of one run."""
    scored = [t for t in task_details(store, summary.id) if t.status == "done" and t.outcome != "skipped"]
    counted = [t for t in scored if not t.set_aside]
    settled = [t for t in counted if t.verified_correct and t.outcome != "correct"]
    rejected = [t for t in counted if not t.verified_correct and t.outcome == "correct"]
    aside = [t for t in scored if t.set_aside]
    aside_correct = sum(t.outcome == "correct" for t in aside)
    return [
        MovementLine("automatic", "automatic", f"{summary.correct} of {summary.scored} tasks"),
        MovementLine("settled", "+ disputes settled correct", f"+{len(settled)}",
                     [_moved(t, verdicts_of_answer) for t in settled]),
        MovementLine("rejected", "− answers a person rejected (or reopened)", f"−{len(rejected)}",
                     [_moved(t, verdicts_of_answer) for t in rejected]),
        MovementLine("set_aside", "tasks set aside",
                     f"−{aside_correct} correct, {len(aside)} task(s) out of the count",
                     [_moved(t, verdicts_of_answer) for t in aside], summary.set_asides),
        MovementLine("verified", "= verified",
                     f"{summary.verified_correct} of {summary.valid_tasks} valid tasks"
                     + (" (provisional)" if summary.verified_provisional else "")),
    ]
