"""Identical answers decided once: one decision, one audited verdict per answer.

Answers are identical when they answer the same question of the same capsule in the same suite
(benchmark label and version) with the same reported value against the same references: across
repeats and runs, a person would rule the same way on each. Only answers standing the same way
are batched (an open dispute is never decided together with one already settled), and answers
whose question or task is set aside leave the queue: they no longer count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from corebench_runner.review import verdicts as review
from corebench_runner.store.database import Store
from corebench_runner.store.runs import run_configs_json
from corebench_runner.store.suites import capsule_suite
from corebench_runner.store.verification import run_verification


@dataclass
class Batch:
    """Answers decided together; `first` is the one shown."""

    answers: list[review.AnswerView]

    @property
    def first(self) -> review.AnswerView:
        return self.answers[0]

    @property
    def others(self) -> list[review.AnswerView]:
        return self.answers[1:]


@dataclass
class BatchResult:
    recorded: list[review.ReviewRecord] = field(default_factory=list)
    settled_meanwhile: list[int] = field(default_factory=list)  # answer ids someone else ruled on since

    def applied_phrase(self) -> str:
        """"applied to 4 identical answers" (or nothing for a lone answer)."""
        return f"applied to {len(self.recorded)} identical answers" if len(self.recorded) > 1 else ""


def _suites(store: Store, views: list[review.AnswerView]) -> dict[tuple[str, str], str]:
    configs = {run_id: json.loads(config or "{}")
               for run_id, config in run_configs_json(store, {v.key.run_id for v in views}).items()}
    return {(v.key.run_id, v.key.capsule_id): capsule_suite(configs.get(v.key.run_id, {}), v.key.capsule_id)
            for v in views}


def _identity(view: review.AnswerView, suite: str) -> tuple:
    reported = json.dumps(view.reported, sort_keys=True) if view.reported_present else None
    return (suite, view.key.capsule_id, view.key.question, reported, json.dumps(list(view.references)),
            view.standing)


def set_aside_answers(store: Store, views: list[review.AnswerView]) -> set[int]:
    """The answers among `views` whose question or task is set aside."""
    found: set[int] = set()
    for run_id in dict.fromkeys(v.key.run_id for v in views):
        found |= run_verification(store, run_id).set_aside_answer_ids
    return found


def group_identical(store: Store, views: list[review.AnswerView]) -> list[Batch]:
    """The queue as batches, in the order of each batch's first answer; set-aside answers left out."""
    aside = set_aside_answers(store, views)
    suites = _suites(store, views)
    batches: dict[tuple, Batch] = {}
    for view in views:
        if view.answer_id in aside:
            continue
        key = _identity(view, suites[(view.key.run_id, view.key.capsule_id)])
        batches.setdefault(key, Batch([])).answers.append(view)
    return list(batches.values())


def batch_of(store: Store, answer_id: int, candidates: list[review.AnswerView]) -> Batch:
    """The batch `answer_id` belongs to among `candidates` (itself first), itself alone when it is not among them."""
    view = review.get_answer(store, answer_id)
    for batch in group_identical(store, [view] + [c for c in candidates if c.answer_id != answer_id]):
        if batch.first.answer_id == answer_id:
            return batch
    return Batch([view])


def decide(store: Store, seen: dict[int, int], verdict: str, *, reviewer: str, reason: str) -> BatchResult:
    """Record `verdict` on every answer of `seen` ({answer id: the verdict id the reviewer saw}), one row each.

    The first answer's refusal (settled meanwhile, a reason missing) is raised as it is for a lone
    verdict; an identical answer settled meanwhile is passed over and named.
    """
    result = BatchResult()
    for position, (answer_id, seen_review_id) in enumerate(seen.items()):
        try:
            result.recorded.append(review.record_verdict(store, answer_id, verdict, reviewer=reviewer, reason=reason,
                                                         seen_review_id=seen_review_id))
        except review.SettledMeanwhile:
            if position == 0:
                raise
            result.settled_meanwhile.append(answer_id)
    return result
