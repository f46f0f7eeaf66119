"""Triage proposals on the review screens: shown, ordered by, and accepted as a person's verdict.

A proposal (store/triage.py) is a machine's advice. Accepting one is a person's act: it records
an ordinary verdict signed by the reviewer, with source "triage accepted" and a reason naming
who accepted what, so the audit trail tells it from a verdict typed by hand.
"""

from __future__ import annotations

import textwrap
from typing import Any

from corebench_runner.errors import UserError
from corebench_runner.review import verdicts as review
from corebench_runner.store.database import Store
from corebench_runner.store.triage import (
    CATEGORY_WORDS,
    VERDICT_WORDS,
    Proposal,
    answers_ruled_by,
    latest_proposal,
    latest_proposals,
)

TRIAGE_ACCEPTED = "triage accepted"  # reviews.source of an accepted proposal; one of verdicts.HUMAN_SOURCES
ORDERS = ("default", "triage")


def proposal_summary(proposal: Proposal) -> str:
    return f"{VERDICT_WORDS[proposal.verdict]}, {CATEGORY_WORDS[proposal.category]} (by {proposal.proposer})"


def triage_lines(proposal: Proposal | None, width: int = 80, label: int = 12) -> list[str]:
    """The proposal as the terminal screen's labelled lines; nothing when the answer was never triaged."""
    if proposal is None:
        return []
    from corebench_runner.review.screen import printable  # screen.py calls this module

    lines = []
    for name, text in (("Triage", proposal_summary(proposal)), ("", proposal.reasoning or "(no reasoning given)")):
        wrapped = textwrap.wrap(printable(text), width - label, break_long_words=True) or [""]
        lines += [f"{name:<{label}}{wrapped[0]}"] + [" " * label + line for line in wrapped[1:]]
    return lines


def accept_reason(proposal: Proposal, reviewer: str) -> str:
    return f"triage accepted by {reviewer}: {proposal_summary(proposal)}: {proposal.reasoning}".strip()


def accept_proposal(store: Store, answer_id: int, *, reviewer: str, seen_review_id: int | None,
                    proposal_id: int | None = None) -> review.ReviewRecord:
    """Record the latest proposal's verdict as the reviewer's own. `proposal_id` (the one the reviewer
    saw) refuses the acceptance when a newer proposal came in meanwhile."""
    proposal = latest_proposal(store, answer_id)
    if proposal is None:
        raise UserError(f"answer {answer_id} has no triage proposal to accept; run `corebench triage RUN "
                               "--model M` first, or give your own verdict")
    if proposal_id is not None and proposal.id != proposal_id:
        raise review.SettledMeanwhile(f"answer {answer_id} got a new triage proposal since you opened it; nothing "
                                      "was recorded: read it (reload the page), then decide again")
    return review.record_verdict(store, answer_id, proposal.status, reviewer=reviewer,
                                 reason=accept_reason(proposal, reviewer), source=TRIAGE_ACCEPTED,
                                 seen_review_id=seen_review_id)


def _rank(proposal: Proposal | None) -> int:
    """Right in spirit first (a person should see those soonest), then wrong, then not triaged."""
    if proposal is None:
        return 2
    return 0 if proposal.verdict == "right_in_spirit" else 1


def triage_sorted(store: Store, views: list[review.AnswerView]) -> list[review.AnswerView]:
    """The same answers, those proposed right in spirit first, then wrong, then the untriaged (order kept within)."""
    proposals = latest_proposals(store, [v.answer_id for v in views])
    return sorted(views, key=lambda v: _rank(proposals.get(v.answer_id)))


def triage_queue(store: Store, **filters: Any) -> list[review.AnswerView]:
    """The open disputes plus incorrect answers a proposal calls right in spirit and no person has ruled on,
    right-in-spirit proposals first (the queue's order otherwise kept)."""
    disputes = review.open_disputes(store, **filters)
    incorrect = review.find_answers(store, standing="incorrect", **filters)
    proposals = latest_proposals(store, [v.answer_id for v in disputes + incorrect])
    ruled = answers_ruled_by(store, [v.answer_id for v in incorrect], review.HUMAN_SOURCES)
    flagged = [v for v in incorrect if v.answer_id not in ruled and v.answer_id in proposals
               and proposals[v.answer_id].verdict == "right_in_spirit"]
    return sorted(disputes + flagged, key=lambda v: _rank(proposals.get(v.answer_id)))
