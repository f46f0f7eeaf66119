"""What triage reads about a failed task: its failed answers (question, reported value, reference runs,
grader's reason, evidence), the agent's transcript and the files the task produced.

Read from the store and its artifacts folder only: a capsule's capsule.toml and the answer alias
tables are never read here, so nothing but the references the reviewer also sees goes to a model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corebench_runner.diagnostics.explain import transcript_digest
from corebench_runner.review import verdicts as review
from corebench_runner.review.evidence import excerpt, find_evidence, load_events
from corebench_runner.store.database import Store
from corebench_runner.store.triage import latest_proposals, task_of

TRIAGED_STATUSES = ("incorrect", "disputed")  # standing statuses worth a second look
MAX_FILE_CHARS = 4_000  # of one produced text file
MAX_PRODUCED_CHARS = 20_000  # of every produced file together
MAX_LISTED_FILES = 200


@dataclass(frozen=True)
class FailedAnswer:
    number: int  # 1-based within its task: how the model refers to it
    view: review.AnswerView
    evidence: list[str]  # the evidence commands with their telling output lines


@dataclass
class TaskMaterial:
    task_id: int
    run_id: str
    capsule_id: str
    repeat: int
    outcome: str
    answers: list[FailedAnswer]
    transcript: Path | None
    produced: Path | None  # the task's kept results folder, when there is one
    produced_listing: list[str] = field(default_factory=list)
    produced_texts: dict[str, str] = field(default_factory=dict)  # relative path -> head of a text file

    def answer(self, number: int) -> FailedAnswer | None:
        return next((a for a in self.answers if a.number == number), None)


def failed_tasks(store: Store, run_id: str, redo: bool = False) -> list[TaskMaterial]:
    """Every task of the run with an incorrect or disputed answer not yet triaged (all of them with redo)."""
    run_id = review.resolve_run_id(store, run_id)
    views = [v for v in review.find_answers(store, run_id=run_id) if v.standing in TRIAGED_STATUSES]
    if not redo:
        done = latest_proposals(store, [v.answer_id for v in views])
        views = [v for v in views if v.answer_id not in done]
    tasks: dict[tuple[str, int], list[review.AnswerView]] = {}
    for view in views:
        tasks.setdefault((view.key.capsule_id, view.key.repeat), []).append(view)
    return [_material(store, run_id, capsule_id, repeat, answers) for (capsule_id, repeat), answers in tasks.items()]


def _material(store: Store, run_id: str, capsule_id: str, repeat: int,
              views: list[review.AnswerView]) -> TaskMaterial:
    task_id, outcome, kept = task_of(store, run_id, capsule_id, repeat)
    answers = [FailedAnswer(n, view, _evidence_lines(view)) for n, view in enumerate(views, start=1)]
    produced = _produced_dir(store, kept)
    material = TaskMaterial(task_id, run_id, capsule_id, repeat, outcome, answers, views[0].transcript, produced)
    if produced is not None:
        material.produced_listing, material.produced_texts = _read_produced(produced)
    return material


def _evidence_lines(view: review.AnswerView) -> list[str]:
    reported = view.reported if view.reported_present else None
    evidence = find_evidence(view.transcript, reported)
    lines = [f"({evidence.note})"]
    for step in evidence.steps:
        lines.append(f"$ {step.command}" + ("" if step.exit_code in (0, None) else f"   [exit {step.exit_code}]"))
        lines += ["  " + line for line in excerpt(step, reported)]
    return lines


def _produced_dir(store: Store, relative: str | None) -> Path | None:
    if not relative:
        return None
    root = store.artifacts_dir.resolve()
    folder = (store.artifacts_dir / relative).resolve()
    return folder if folder.is_relative_to(root) and folder.is_dir() else None


def _read_produced(folder: Path) -> tuple[list[str], dict[str, str]]:
    """The files under the task's results folder, and the start of each small text file among them."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    listing = [f"{p.relative_to(folder).as_posix()} ({p.stat().st_size} bytes)" for p in files[:MAX_LISTED_FILES]]
    texts: dict[str, str] = {}
    budget = MAX_PRODUCED_CHARS
    for path in files:
        if budget <= 0:
            break
        try:
            text = path.read_bytes()[:MAX_FILE_CHARS].decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # an image or binary file: listed, not read
        texts[path.relative_to(folder).as_posix()] = text[:budget]
        budget -= len(text)
    return listing, texts


def transcript_text(material: TaskMaterial) -> str:
    """The agent's actions, newest kept when long (the same digest `corebench explain` sends)."""
    if material.transcript is None:
        return "(no transcript was kept)"
    try:
        events: list[dict[str, Any]] = load_events(material.transcript)
    except (OSError, ValueError):
        return "(the transcript could not be read)"
    return transcript_digest(events)


def value_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
