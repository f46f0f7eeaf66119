"""Set-aside questions and tasks: the SQL of the `set_asides` table (schema.py, 0003).

A person sets a broken question, or a whole task, aside within one suite (a benchmark label and
version, e.g. "core-bench 1.1 mainline"), with a reason; reinstating it is another row. Nothing is
updated or deleted: the latest row per (suite, capsule, question) stands, latest by its time and
then its id, so rows imported from another store take their place by when they were decided.
What a set-aside does to the numbers is decided in verification.py.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass
from typing import Any, Iterable

from corebench_runner.errors import UserError
from corebench_runner.store.database import Store, now_iso
from corebench_runner.store.suites import capsule_suite

WHOLE_TASK = ""  # the question column of a row that sets the whole task aside


@dataclass(frozen=True)
class SetAside:
    """One decision: `active` True sets the item aside, False reinstates it."""

    id: int
    suite: str
    capsule_id: str
    question: str  # WHOLE_TASK for the whole task
    active: bool
    reviewer: str
    created: str
    reason: str
    source: str

    @property
    def whole_task(self) -> bool:
        return self.question == WHOLE_TASK

    def identity(self) -> tuple[str, str, str, bool, str, str, str]:
        """The same decision whichever store holds it (ids are local)."""
        return (self.suite, self.capsule_id, self.question, self.active, self.reviewer, self.created, self.reason)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "whole_task": self.whole_task}


def _row(row: sqlite3.Row) -> SetAside:
    return SetAside(row["id"], row["suite"], row["capsule_id"], row["question"], bool(row["active"]), row["reviewer"],
                    row["created"], row["reason"], row["source"])


_LATEST = """
    SELECT * FROM set_asides s WHERE s.id = (
        SELECT s2.id FROM set_asides s2 WHERE s2.suite = s.suite AND s2.capsule_id = s.capsule_id
        AND s2.question = s.question ORDER BY s2.created DESC, s2.id DESC LIMIT 1)
"""


def standing_set_asides(store: Store, suites: Iterable[str] | None = None) -> list[SetAside]:
    """Every item set aside now (its latest row sets it aside), optionally only within `suites`."""
    rows = [_row(r) for r in store.query(_LATEST + " AND s.active = 1 ORDER BY s.suite, s.capsule_id, s.question")]
    wanted = set(suites) if suites is not None else None
    return [r for r in rows if wanted is None or r.suite in wanted]


def latest_decision(conn: sqlite3.Connection, suite: str, capsule_id: str, question: str) -> SetAside | None:
    row = conn.execute("SELECT * FROM set_asides WHERE suite = ? AND capsule_id = ? AND question = ? "
                       "ORDER BY created DESC, id DESC LIMIT 1", (suite, capsule_id, question)).fetchone()
    return _row(row) if row else None


def set_aside_history(store: Store, suites: Iterable[str] | None = None,
                      capsule_id: str | None = None) -> list[SetAside]:
    """Every decision, oldest first, optionally within `suites` and of one capsule."""
    rows = [_row(r) for r in store.query("SELECT * FROM set_asides ORDER BY created, id")]
    wanted = set(suites) if suites is not None else None
    return [r for r in rows if (wanted is None or r.suite in wanted) and (capsule_id is None or r.capsule_id == capsule_id)]


def record_set_aside(store: Store, *, suite: str, capsule_id: str, question: str, active: bool, reviewer: str,
                     reason: str, source: str = "cli", created: str | None = None) -> SetAside:
    """Set an item aside (active) or reinstate it; refuses a decision that changes nothing."""
    reason = reason.strip()
    if not reason:
        raise UserError("--reason: setting a task or question aside, or reinstating it, needs a reason; say why")
    if not reviewer.strip():
        raise UserError("--reviewer: a decision needs a reviewer name; pass --reviewer NAME")
    what = f"{capsule_id}" + (f" question {question!r}" if question else " (whole task)")
    created = created or now_iso()
    with store.transaction() as conn:
        latest = latest_decision(conn, suite, capsule_id, question)
        standing = latest is not None and latest.active
        if active and standing:
            raise UserError(f"{what} is already set aside in {suite!r} (by {latest.reviewer}, {latest.created}: "
                            f"{latest.reason}); nothing was recorded")
        if not active and not standing:
            raise UserError(f"{what} is not set aside in {suite!r}; nothing to reinstate "
                            "(see `corebench review set-asides`)")
        cursor = conn.execute(
            "INSERT INTO set_asides (suite, capsule_id, question, active, reviewer, created, reason, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (suite, capsule_id, question, int(active), reviewer, created, reason,
                                                source))
    return SetAside(cursor.lastrowid, suite, capsule_id, question, active, reviewer, created, reason, source)


def add_imported(conn: sqlite3.Connection, decisions: Iterable[SetAside]) -> tuple[int, int]:
    """Insert decisions from another store inside the caller's transaction; (added, already present)."""
    present = {_row(r).identity() for r in conn.execute("SELECT * FROM set_asides")}
    added = skipped = 0
    for decision in decisions:
        if decision.identity() in present:
            skipped += 1
            continue
        conn.execute(
            "INSERT INTO set_asides (suite, capsule_id, question, active, reviewer, created, reason, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'import')",
            (decision.suite, decision.capsule_id, decision.question, int(decision.active), decision.reviewer,
             decision.created, decision.reason))
        present.add(decision.identity())
        added += 1
    return added, skipped


def suites_holding(store: Store, capsule_id: str) -> list[str]:
    """The suites (benchmark labels) under which the store's runs ran this capsule."""
    rows = store.query("SELECT DISTINCT runs.config_json FROM runs JOIN tasks ON tasks.run_id = runs.id "
                       "WHERE tasks.capsule_id = ?", (capsule_id,))
    return sorted({capsule_suite(json.loads(row[0] or "{}"), capsule_id) for row in rows})


def questions_asked(store: Store, suite: str, capsule_id: str) -> list[str]:
    """The question texts this capsule's answers hold in runs of `suite`, in first-answered order."""
    rows = store.query("SELECT runs.config_json, answers.question FROM answers JOIN tasks ON tasks.id = answers.task_id "
                       "JOIN runs ON runs.id = tasks.run_id WHERE tasks.capsule_id = ? ORDER BY answers.id",
                       (capsule_id,))
    found = [row[1] for row in rows if capsule_suite(json.loads(row[0] or "{}"), capsule_id) == suite]
    return list(dict.fromkeys(found))
