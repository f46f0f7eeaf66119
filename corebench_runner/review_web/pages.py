"""What the review pages show, read from the store: the queue with its counts, and one answer in full.

Plain data for autoescaping templates (every string an agent wrote stays text). The answer
page reuses the terminal review's pieces (evidence, the official rule in words, JSON spelling
of values) and the static report's transcript items, so the three never disagree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from corebench_runner.models.names import display_name
from corebench_runner.report.transcripts import IMAGE_TYPES, load_events, transcript_items
from corebench_runner.review import batch as batch_rules, verdicts as review
from corebench_runner.review.evidence import excerpt, find_evidence
from corebench_runner.review.screen import describe_rule, fmt_value
from corebench_runner.review.triage_view import proposal_summary, triage_sorted
from corebench_runner.store import answers as stored_answers
from corebench_runner.store.database import Store
from corebench_runner.store.results import run_summary
from corebench_runner.store.runs import run_config_json
from corebench_runner.store.set_asides import SetAside, standing_set_asides
from corebench_runner.store.suites import capsule_suite
from corebench_runner.store.triage import latest_proposals

STATUS_CHOICES = ("disputed", "correct", "incorrect", "all")
MAX_PRODUCED_IMAGES = 40  # a results folder can hold hundreds of plots; the first ones (by path) are shown


@dataclass(frozen=True)
class Filters:
    """Which answers a page is about; the command line's filters are the defaults of the queue form."""

    run_id: str | None = None
    model: str | None = None
    capsule_id: str | None = None
    status: str = "disputed"  # the standing status listed, or "all"
    answer_ids: tuple[int, ...] = ()  # --answer: exactly these, whatever their status
    order: str = "default"  # "triage": answers proposed right in spirit first (review/triage_view.py)

    def query(self) -> dict[str, Any]:
        """The filters as URL parameters, so links and redirects keep them."""
        params: dict[str, Any] = {"run": self.run_id, "model": self.model, "capsule": self.capsule_id,
                                  "status": self.status, "answer": list(self.answer_ids) or None,
                                  "order": self.order if self.order != "default" else None}
        return {name: value for name, value in params.items() if value}

    def answers(self, store: Store) -> list[review.AnswerView]:
        """Every answer in scope, whatever its status, in the terminal review's order (or triage's, when
        asked); answers whose question or task is set aside leave the queue (they no longer count) unless
        "all" or --answer asks for them."""
        views = review.find_answers(store, run_id=self.run_id, model=self.model, capsule_id=self.capsule_id,
                                    answer_ids=list(self.answer_ids) or None)
        if self.order == "triage":
            views = triage_sorted(store, views)
        if self.answer_ids or self.status == "all":
            return views
        aside = batch_rules.set_aside_answers(store, views)
        return [v for v in views if v.answer_id not in aside]

    def listed(self, view: review.AnswerView) -> bool:
        return bool(self.answer_ids) or self.status == "all" or view.standing == self.status


def queue_context(store: Store, filters: Filters) -> dict[str, Any]:
    """The queue page: counts by standing status, each run's accuracies, the answers listed."""
    views = filters.answers(store)
    counts = {status: sum(v.standing == status for v in views) for status in review.STATUSES}
    runs = [replace(summary, model=display_name(summary.model))  # by name, never a local path
            for summary in (run_summary(store, run_id) for run_id in dict.fromkeys(v.key.run_id for v in views))]
    listed = [v for v in views if filters.listed(v)]
    # How many identical answers one decision on each listed answer settles (review/batch.py).
    identical = {v.answer_id: len(batch.answers) for batch in batch_rules.group_identical(store, listed)
                 for v in batch.answers if len(batch.answers) > 1}
    # What triage proposed for each listed answer (a machine's proposal, shown as such; never a verdict).
    proposals = {answer_id: proposal_summary(proposal)
                 for answer_id, proposal in latest_proposals(store, [v.answer_id for v in listed]).items()}
    return {"filters": filters, "counts": counts, "total": len(views), "runs": runs, "identical": identical,
            "proposals": proposals,
            "answers": listed, "status_choices": STATUS_CHOICES,
            "models": list(dict.fromkeys(display_name(spec) for spec in stored_answers.stored_models(store)))}


def answer_exists(store: Store, answer_id: int) -> bool:
    return stored_answers.answer_exists(store, answer_id)


def neighbours(store: Store, filters: Filters, answer_id: int) -> tuple[int | None, int | None, int, int]:
    """(previous, next, position, size) of an answer in the queue; `next` wraps to the first one left."""
    views = filters.answers(store)
    queue = [v.answer_id for v in views if filters.listed(v) or v.answer_id == answer_id]
    if answer_id not in queue:
        return None, (queue[0] if queue else None), 0, len(queue)
    at = queue.index(answer_id)
    later = queue[at + 1:] + queue[:at]
    earlier = queue[:at][::-1]
    return (earlier[0] if earlier else None), (later[0] if later else None), at + 1, len(queue)


@dataclass
class Figure:
    """An image shown on the answer page: `src` is a URL of this app, `label` says where it came from."""

    src: str
    label: str
    kind: str  # "viewed" (the agent looked at it) or "produced" (in the task's results folder)


@dataclass
class AnswerPage:
    view: review.AnswerView
    task_id: int
    seen_review_id: int
    reported: str
    references: list[str]
    official: str
    history: list[review.ReviewRecord]
    evidence_note: str
    evidence: list[dict[str, Any]]
    figures: list[Figure] = field(default_factory=list)
    transcript: list[dict[str, Any]] = field(default_factory=list)
    transcript_problem: str | None = None
    figure_question: bool = False
    # Identical answers one decision settles too (batch.py), with the verdict id each stood at when shown.
    identical: list[review.AnswerView] = field(default_factory=list)
    identical_seen: str = ""  # "answer:seen answer:seen ...", posted back with the verdict
    # Setting the question or task aside (set_aside.py): its suite, and what is set aside now.
    suite: str = ""
    set_asides: list[SetAside] = field(default_factory=list)


def answer_page(store: Store, answer_id: int, viewed_dir: Path,
                candidates: list[review.AnswerView] | None = None) -> AnswerPage:
    """Everything about one answer. Figures the agent viewed are written under viewed_dir/<task id>/.

    `candidates` (the answers in the queue's scope) are searched for identical answers.
    """
    view = review.get_answer(store, answer_id)
    identical = batch_rules.batch_of(store, answer_id, candidates or []).others
    suite = answer_suite(store, view)
    aside = [s for s in standing_set_asides(store, [suite])
             if s.capsule_id == view.key.capsule_id and s.question in ("", view.key.question)]
    task = stored_answers.task_of_answer(store, answer_id)
    reported = view.reported if view.reported_present else None
    evidence = find_evidence(view.transcript, reported)
    events, problem = load_events(store.artifacts_dir, task["transcript_path"])
    items = transcript_items(events, viewed_dir / str(task["id"]), "event", f"/viewed/{task['id']}")
    figures = [Figure(item["src"], item["path"] or f"event {item['number']}", "viewed")
               for item in items if item["kind"] == "image" and item["src"]]
    figures += produced_images(store.artifacts_dir, task["artifacts_dir"])
    return AnswerPage(
        view=view, task_id=task["id"], seen_review_id=review.latest_review_id(store, answer_id),
        reported=fmt_value(view.reported) if view.reported_present else "(not reported)",
        references=[fmt_value(value) for value in view.references], official=describe_rule(view),
        history=review.history(store, answer_id), evidence_note=evidence.note,
        evidence=[{"command": step.command, "exit_code": step.exit_code,
                   "lines": excerpt(step, reported), "output": step.output} for step in evidence.steps],
        figures=figures, transcript=items, transcript_problem=problem,
        figure_question=view.vision or "fig" in view.key.question.lower(),
        identical=identical,
        identical_seen=" ".join(f"{v.answer_id}:{review.latest_review_id(store, v.answer_id)}" for v in identical),
        suite=suite, set_asides=aside)


def answer_suite(store: Store, view: review.AnswerView) -> str:
    """The suite (benchmark label and version) the answer's capsule ran under: where a set-aside applies."""
    return capsule_suite(json.loads(run_config_json(store, view.key.run_id) or "{}"), view.key.capsule_id)


def produced_images(artifacts_dir: Path, produced: str | None) -> list[Figure]:
    """PNG and JPEG files the task left in its results folder, linked by their path under the artifacts folder."""
    if not produced:
        return []
    root = artifacts_dir.resolve()
    folder = (artifacts_dir / produced).resolve()
    if not folder.is_relative_to(root) or not folder.is_dir():
        return []
    suffixes = {suffix for suffix, _ in IMAGE_TYPES.values()} | {".jpeg"}
    found = sorted(path for path in folder.rglob("*") if path.suffix.lower() in suffixes
                   and path.is_file() and path.resolve().is_relative_to(root))
    return [Figure("/artifacts/" + quote(path.relative_to(root).as_posix()), path.relative_to(folder).as_posix(), "produced")
            for path in found[:MAX_PRODUCED_IMAGES]]
