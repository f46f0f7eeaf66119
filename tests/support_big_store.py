"""A generated store of more than 500 tasks, the size suites reach now (58 capsules x 5 repeats and more),
for the report's browser tests: run pages must read at this size, verdicts must say who made them, and
the oracle must stand as a ceiling, never as an agent.

Written through the engine's own store functions (support_report.add_run, finish_task's monitor queue
diagnostics.stored.queue_flagged_in, review.record_verdict), so the site reads what real runs leave.

What it holds, and what the tests look for:
- one suite of 100 capsules at level hard;
- BIG_RUN: an agent over every capsule x 5 repeats (500 tasks), a transcript per task; shortcut monitors
  flag FLAGGED correct tasks (a machine's row on each of their answers) and people give verdicts through
  the command line, the review page, accepted triage and an import (PEOPLE_VERDICTS rows in all);
- SECOND_RUN: another model over every capsule once, ranked beside it;
- ORACLE_RUN: the oracle scaffold with no model over every capsule: it solves every capsule but the
  one UNSOLVABLE by the agents' luck is still "no agent" (the oracle is not an agent).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from corebench_runner.diagnostics import DETAILS_KEY, Diagnosis
from corebench_runner.diagnostics.stored import queue_flagged_in
from corebench_runner.review.verdicts import record_verdict
from corebench_runner.store.database import Store, open_store
from support_report import add_run

SUITE = "core-bench big"
CAPSULES = [f"capsule-{n:03d}" for n in range(100)]
REPEATS = 5
BIG_RUN = "2026-12-01-claude-sonnet-4-6-big"
SECOND_RUN = "2026-12-02-gpt-4-1-mini-big"
ORACLE_RUN = "2026-12-03-oracle-big"
FLAGGED = 30  # correct tasks of BIG_RUN a shortcut monitor flags
PEOPLE_SOURCES = ("cli", "web", "triage accepted", "import")  # one person's verdict of each kind per turn
PEOPLE_VERDICTS = 8


@dataclass
class BigStore:
    store: Store
    tasks: int = 0
    flagged_task_ids: list[int] = field(default_factory=list)
    machine_rows: int = 0  # monitor rows written on BIG_RUN's answers
    people_rows: int = 0  # verdicts people gave on BIG_RUN's answers
    person_answer_ids: list[int] = field(default_factory=list)


def build_big_store(path: Path) -> BigStore:
    rng = random.Random(20261207)
    store = open_store(path)
    built = BigStore(store=store)
    common = {"capsules": CAPSULES, "benchmark": SUITE, "level": "hard"}
    big = add_run(store, rng, BIG_RUN, model="anthropic:claude-sonnet-4-6", created="2026-12-01T08:00:00+00:00",
                  repeats=REPEATS, skill=0.55, **common)
    add_run(store, rng, SECOND_RUN, model="openai:gpt-4.1-mini", created="2026-12-02T08:00:00+00:00",
            skill=0.35, write_transcripts=False, **common)
    add_run(store, rng, ORACLE_RUN, model="none", scaffold="oracle", created="2026-12-03T08:00:00+00:00",
            skill=1.01, write_transcripts=False, price_known=False, **common)
    built.tasks = store.query("SELECT COUNT(*) AS n FROM tasks")[0]["n"]
    _flag_shortcuts(built, sorted(big.values()))
    _people_decide(built)
    return built


def _flag_shortcuts(built: BigStore, task_ids: list[int]) -> None:
    """As finish_task does after a monitor flags a task: its diagnosis kept, a machine's row on each answer."""
    correct = [row["id"] for row in built.store.query(
        f"SELECT id FROM tasks WHERE outcome = 'correct' AND id IN ({','.join('?' * len(task_ids))}) ORDER BY id",
        tuple(task_ids))]
    for task_id in correct[:FLAGGED]:
        flag = {"code": "answer_from_nowhere", "message": "the reported value appears in no output the agent saw",
                "evidence": {"command": "python code/main.py", "output_excerpt": "accuracy: 0.9"}}
        diagnosis = Diagnosis(stages={}, flags=[flag])
        with built.store.transaction() as conn:
            conn.execute("UPDATE tasks SET details_json = ? WHERE id = ?",
                         (json.dumps({DETAILS_KEY: diagnosis.to_json()}), task_id))
            built.machine_rows += queue_flagged_in(conn, task_id)
        built.flagged_task_ids.append(task_id)


def _people_decide(built: BigStore) -> None:
    """People settle some flagged answers and some disputes, one verdict of each kind in turn."""
    flagged = [row["id"] for row in built.store.query(
        "SELECT r.answer_id AS id FROM reviews r JOIN answers a ON a.id = r.answer_id JOIN tasks t ON t.id = a.task_id "
        "WHERE t.run_id = ? AND r.source = 'monitor' ORDER BY r.id", (BIG_RUN,))]
    disputed = [row["id"] for row in built.store.query(
        "SELECT a.id FROM answers a JOIN tasks t ON t.id = a.task_id WHERE t.run_id = ? AND a.status = 'disputed' "
        "ORDER BY a.id", (BIG_RUN,))]
    chosen = (flagged[:PEOPLE_VERDICTS // 2] + disputed[:PEOPLE_VERDICTS // 2])[:PEOPLE_VERDICTS]
    for n, answer_id in enumerate(chosen):
        verdict = "correct" if n % 2 == 0 else "incorrect"
        record_verdict(built.store, answer_id, verdict, reviewer=f"reviewer-{n % 3}",
                       reason=f"checked against the paper's table ({verdict})", source=PEOPLE_SOURCES[n % 4])
        built.people_rows += 1
        built.person_answer_ids.append(answer_id)
