"""What stands in one run after people's verdicts and set-asides: verified tasks, set-aside items, review coverage.

Rules (docs/review.md, "How the verified number is made"):
  - A task whose capsule is set aside in its suite counts as set aside: out of the verified
    denominator ("42 of 44 valid tasks"). Automatic accuracy never changes.
  - A set-aside question is left out of its task: the task is judged on its remaining questions.
    A task whose every question is set aside counts as set aside. (A task with no answers, e.g. a
    timeout, has the questions other tasks of its capsule answered in the run.)
  - A task is verified-correct iff its outcome was graded, it is not set aside, it has a remaining
    answer, and every remaining answer's standing status is correct.
  - Review coverage: of the answers that are not correct (automatic verdict not correct, or a
    verdict ever made them not correct, e.g. a shortcut monitor's flag), the share a person has
    decided (the standing verdict is a person's correct or incorrect) or set aside. Until it is
    complete, the verified number is provisional.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from corebench_runner.records import Outcome
from corebench_runner.store.database import TASK_DONE, VERIFIED_STATUS_SQL, Store
from corebench_runner.store.runs import run_config_json
from corebench_runner.store.set_asides import SetAside, standing_set_asides
from corebench_runner.store.suites import capsule_suite

GRADED_OUTCOMES = (Outcome.CORRECT.value, Outcome.INCORRECT.value, Outcome.DISPUTED.value)
# Review rows written by people ("triage accepted": a person accepted a triage proposal); others
# ("regrade", "monitor") are machines.
PERSON_SOURCES = ("cli", "import", "triage accepted")
DECISIONS = ("correct", "incorrect")


@dataclass
class Verification:
    verified_task_ids: set[int] = field(default_factory=set)
    set_aside_task_ids: set[int] = field(default_factory=set)
    set_aside_answer_ids: set[int] = field(default_factory=set)  # answers left out (their question or task set aside)
    set_aside_reasons: dict[int, str] = field(default_factory=dict)  # answer id -> the standing decision's reason
    set_asides: list[SetAside] = field(default_factory=list)  # standing items that touch this run
    needs_review_ids: set[int] = field(default_factory=set)  # not-correct answers
    reviewed_ids: set[int] = field(default_factory=set)  # of those, decided by a person or set aside

    @property
    def coverage(self) -> float | None:
        """Share of not-correct answers decided or set aside; None when there is none to review."""
        return len(self.reviewed_ids) / len(self.needs_review_ids) if self.needs_review_ids else None

    @property
    def complete(self) -> bool:
        return len(self.reviewed_ids) == len(self.needs_review_ids)


_ANSWERS_SQL = f"""
    SELECT answers.id, answers.task_id, answers.question, answers.status,
           {VERIFIED_STATUS_SQL} AS standing,
           (SELECT r.source IN {PERSON_SOURCES!r} AND r.new_status IN {DECISIONS!r} FROM reviews r
            WHERE r.answer_id = answers.id ORDER BY r.id DESC LIMIT 1) AS decided,
           EXISTS (SELECT 1 FROM reviews r WHERE r.answer_id = answers.id AND r.new_status != 'correct') AS flagged
    FROM answers JOIN tasks t ON t.id = answers.task_id WHERE t.run_id = ? ORDER BY answers.id
"""


def run_verification(store: Store, run_id: str, config_json: str | None = None) -> Verification:
    """Apply set-asides and verdicts to one run (an exact run id)."""
    if config_json is None:
        config_json = run_config_json(store, run_id)
    config = json.loads(config_json or "{}")
    tasks = store.query("SELECT id, capsule_id, outcome FROM tasks WHERE run_id = ? AND status = ? AND outcome != ?",
                        (run_id, TASK_DONE, Outcome.SKIPPED.value))
    answers = store.query(_ANSWERS_SQL, (run_id,))
    suite_of = {t["capsule_id"]: capsule_suite(config, t["capsule_id"]) for t in tasks}
    standing = [s for s in standing_set_asides(store, set(suite_of.values())) if suite_of.get(s.capsule_id) == s.suite]
    whole = {s.capsule_id: s.reason for s in standing if s.whole_task}
    questions_aside = {(s.capsule_id, s.question): s.reason for s in standing if not s.whole_task}

    by_task: dict[int, list] = {}
    known_questions: dict[str, set[str]] = {}
    for a in answers:
        by_task.setdefault(a["task_id"], []).append(a)
    capsule_of = {t["id"]: t["capsule_id"] for t in tasks}
    for a in answers:
        if a["task_id"] in capsule_of:
            known_questions.setdefault(capsule_of[a["task_id"]], set()).add(a["question"])

    result = Verification()
    touched: set[tuple[str, str]] = set()
    for task in tasks:
        capsule = task["capsule_id"]
        mine = by_task.get(task["id"], [])
        aside = [a for a in mine if capsule in whole or (capsule, a["question"]) in questions_aside]
        aside_ids = {a["id"] for a in aside}
        remaining = [a for a in mine if a["id"] not in aside_ids]
        result.set_aside_answer_ids.update(a["id"] for a in aside)
        for a in aside:  # a whole task's decision stands over its questions'
            result.set_aside_reasons[a["id"]] = (whole[capsule] if capsule in whole
                                                 else questions_aside[(capsule, a["question"])])
        touched.update((capsule, a["question"]) for a in aside)
        known = known_questions.get(capsule, set())
        all_questions_aside = bool(known) and all((capsule, q) in questions_aside for q in known)
        if capsule in whole or (mine and not remaining) or (not mine and all_questions_aside):
            result.set_aside_task_ids.add(task["id"])
            continue
        if (task["outcome"] in GRADED_OUTCOMES and remaining
                and all(a["standing"] == "correct" for a in remaining)):
            result.verified_task_ids.add(task["id"])
    for a in answers:
        if a["task_id"] not in capsule_of:
            continue
        if a["status"] != "correct" or a["flagged"]:
            result.needs_review_ids.add(a["id"])
            if a["decided"] or a["id"] in result.set_aside_answer_ids:
                result.reviewed_ids.add(a["id"])
    result.set_asides = [s for s in standing if s.whole_task or (s.capsule_id, s.question) in touched
                         or s.question in known_questions.get(s.capsule_id, set())]
    return result
