"""Triage proposals in the store: what a model or an agent CLI proposed for a failed answer, and what it cost.

A proposal is advice, never a verdict: nothing here touches answers.status or reviews. Proposals
are appended; the latest one on an answer is the one shown. Each proposal belongs to a triage
call (one conversation or agent session per task), which holds the tokens and dollars spent.
"""

from __future__ import annotations

from dataclasses import dataclass

from corebench_runner.records import TOKEN_FIELDS, Usage
from corebench_runner.store.database import Store, now_iso

VERDICTS = ("right_in_spirit", "wrong")
CATEGORIES = ("grading_error", "benchmark_error", "environment_barrier", "agent_error", "shortcut")
VERDICT_WORDS = {"right_in_spirit": "right in spirit", "wrong": "wrong"}
CATEGORY_WORDS = {"grading_error": "grading error", "benchmark_error": "benchmark error (reference or question wrong)",
                  "environment_barrier": "environment barrier", "agent_error": "agent error", "shortcut": "shortcut"}


@dataclass(frozen=True)
class Proposal:
    """One proposal on one answer, with who proposed it (the model, and the agent CLI if one ran)."""

    answer_id: int
    verdict: str  # one of VERDICTS
    category: str  # one of CATEGORIES
    reasoning: str
    model: str = ""
    scaffold: str = ""
    created: str = ""
    id: int = 0

    @property
    def proposer(self) -> str:
        return f"{self.model} via {self.scaffold}" if self.scaffold else self.model

    @property
    def status(self) -> str:
        """The verdict a person accepting it records."""
        return "correct" if self.verdict == "right_in_spirit" else "incorrect"


def record_call(store: Store, task_id: int, model: str, scaffold: str, usage: Usage, proposals: list[Proposal],
                error: str | None = None) -> int:
    """Write one triage call (its usage) and the proposals it made, in one transaction; returns the call's id."""
    with store.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO triage_calls (task_id, created, model, scaffold, input_tokens, output_tokens, "
            "cache_creation_input_tokens, cache_read_input_tokens, cost_usd, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (task_id, now_iso(), model, scaffold, *(getattr(usage, name) for name in TOKEN_FIELDS), usage.cost_usd,
             error))
        call_id = cursor.lastrowid
        conn.executemany(
            "INSERT INTO triage_proposals (answer_id, call_id, verdict, category, reasoning) VALUES (?, ?, ?, ?, ?)",
            [(p.answer_id, call_id, p.verdict, p.category, p.reasoning) for p in proposals])
    return call_id


_PROPOSAL_SELECT = (
    "SELECT p.id, p.answer_id, p.verdict, p.category, p.reasoning, c.model, c.scaffold, c.created "
    "FROM triage_proposals p JOIN triage_calls c ON c.id = p.call_id")


def _proposal(row) -> Proposal:
    return Proposal(row["answer_id"], row["verdict"], row["category"], row["reasoning"], row["model"],
                    row["scaffold"], row["created"], row["id"])


def latest_proposal(store: Store, answer_id: int) -> Proposal | None:
    """The latest proposal on an answer, or None when it was never triaged."""
    rows = store.query(_PROPOSAL_SELECT + " WHERE p.answer_id = ? ORDER BY p.id DESC LIMIT 1", (answer_id,))
    return _proposal(rows[0]) if rows else None


def latest_proposals(store: Store, answer_ids: list[int]) -> dict[int, Proposal]:
    """The latest proposal of each answer given that has one (any number of answers: no IN list)."""
    wanted = set(answer_ids)
    if not wanted:
        return {}
    rows = store.query(_PROPOSAL_SELECT + " WHERE p.id IN (SELECT MAX(id) FROM triage_proposals GROUP BY answer_id)")
    return {row["answer_id"]: _proposal(row) for row in rows if row["answer_id"] in wanted}


def run_proposals(store: Store, run_id: str) -> dict[int, Proposal]:
    """The latest proposal of every triaged answer of a run, by answer id."""
    rows = store.query(_PROPOSAL_SELECT + " JOIN answers a ON a.id = p.answer_id JOIN tasks t ON t.id = a.task_id "
                       "WHERE t.run_id = ? AND p.id IN (SELECT MAX(id) FROM triage_proposals GROUP BY answer_id)",
                       (run_id,))
    return {row["answer_id"]: _proposal(row) for row in rows}


def answers_ruled_by(store: Store, answer_ids: list[int], sources: tuple[str, ...]) -> set[int]:
    """Which of these answers have a verdict row from one of `sources` (e.g. the human ones)."""
    if not answer_ids or not sources:
        return set()
    rows = store.query(f"SELECT DISTINCT answer_id FROM reviews WHERE source IN ({', '.join('?' * len(sources))})",
                       tuple(sources))
    return {row[0] for row in rows} & set(answer_ids)


def task_of(store: Store, run_id: str, capsule_id: str, repeat: int) -> tuple[int, str, str | None]:
    """(task id, outcome, kept results folder relative to the artifacts folder) of one task of a run."""
    row = store.conn.execute("SELECT id, outcome, artifacts_dir FROM tasks WHERE run_id = ? AND capsule_id = ? "
                             "AND repeat = ?", (run_id, capsule_id, repeat)).fetchone()
    return row["id"], row["outcome"] or "", row["artifacts_dir"]
