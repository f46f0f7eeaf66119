"""Setting a broken question or task aside, and reinstating it: which suite and question a person means.

A capsule id alone is ambiguous when the store holds runs of several suites (the original
CORE-Bench and v1.1 share capsule ids): the suite is the one the store's runs recorded for the
capsule, or `benchmark` when there are several. A question is named by its text, or by a part of
it that only one of the capsule's questions contains. The decision itself is a row of the
`set_asides` table (store/set_asides.py); what it does to the numbers, store/verification.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from corebench_runner.errors import UserError
from corebench_runner.store.database import Store
from corebench_runner.store.set_asides import (
    WHOLE_TASK,
    SetAside,
    questions_asked,
    record_set_aside,
    standing_set_asides,
    suites_holding,
)


@dataclass(frozen=True)
class Target:
    suite: str
    capsule_id: str
    question: str  # WHOLE_TASK for the whole task

    def describe(self) -> str:
        what = "the whole task" if self.question == WHOLE_TASK else f"question {self.question!r}"
        return f"{self.capsule_id}: {what} in {self.suite!r}"


def resolve_target(store: Store, capsule_id: str, question: str | None, benchmark: str | None) -> Target:
    """The (suite, capsule, question) a command means; one clear UserError when it cannot tell."""
    suites = suites_holding(store, capsule_id)
    if not suites:
        raise UserError(f"{capsule_id}: no run in {store.path} ran this capsule; check the id with `corebench runs` "
                        "and `corebench show RUN`")
    if benchmark is not None and benchmark not in suites:
        raise UserError(f"--benchmark {benchmark!r}: {capsule_id} ran only in {', '.join(map(repr, suites))}; "
                        "pass one of those")
    if benchmark is None and len(suites) > 1:
        raise UserError(f"{capsule_id} ran in several suites ({', '.join(map(repr, suites))}); say which with "
                        "--benchmark LABEL")
    suite = benchmark or suites[0]
    if question is None:
        return Target(suite, capsule_id, WHOLE_TASK)
    return Target(suite, capsule_id, _question(store, suite, capsule_id, question))


def _question(store: Store, suite: str, capsule_id: str, text: str) -> str:
    asked = questions_asked(store, suite, capsule_id)
    asked += [s.question for s in standing_set_asides(store, [suite])
              if s.capsule_id == capsule_id and s.question and s.question not in asked]
    if text in asked:
        return text
    wanted = " ".join(text.split()).lower()
    matches = [q for q in asked if wanted and wanted in " ".join(q.split()).lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UserError(f"--question {text!r}: none of {capsule_id}'s {len(asked)} question(s) in {suite!r} contains "
                        f"it; see their texts with `corebench review list --capsule {capsule_id}`")
    raise UserError(f"--question {text!r}: {len(matches)} of {capsule_id}'s questions contain it "
                    f"({'; '.join(q[:50] for q in matches[:3])}); give more of the text")


def set_aside(store: Store, target: Target, *, reviewer: str, reason: str, source: str = "cli") -> SetAside:
    return record_set_aside(store, suite=target.suite, capsule_id=target.capsule_id, question=target.question,
                            active=True, reviewer=reviewer, reason=reason, source=source)


def reinstate(store: Store, target: Target, *, reviewer: str, reason: str, source: str = "cli") -> SetAside:
    return record_set_aside(store, suite=target.suite, capsule_id=target.capsule_id, question=target.question,
                            active=False, reviewer=reviewer, reason=reason, source=source)
