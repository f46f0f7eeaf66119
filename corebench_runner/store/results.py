"""Read-only questions about runs: summaries, per-task details and the JSON contract.

Accuracy rules (documented in docs/running.md):
  - accuracy = correct tasks / scored tasks, where scored tasks are finished tasks that were not
    skipped; infra errors stay in the denominator and are counted beside it, never hidden.
  - verified accuracy applies reviews and set-asides (verification.py): a task is verified-correct
    iff its outcome was graded (correct, incorrect or disputed), it is not set aside, and every one
    of its remaining answers' standing status is correct; the denominator is the valid tasks
    (scored tasks not set aside). It is provisional until review coverage is complete.
  - open disputes = answers of the run whose standing status is still disputed (set-aside ones left out).
  - reproduced accuracy (runs with --verify): a task is reproduced-correct iff its outcome is correct and
    every one of its answers was reproduced (`reproduced = 'yes'`) by the re-run of its reproduce.sh;
    None for a run no re-run checked.
  - correct answers by source: of the answers graded correct, how many came from each source
    (diagnostics/provenance.py), with "unknown" for answers recorded before sources were traced.
  - suite = the benchmark label(s) of the run's capsules, recorded at planning (run config
    "benchmarks"); runs of different suites are never compared or averaged together.
  - reliability over repeats: see reliability.py.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from corebench_runner.records import Outcome
from corebench_runner.store.database import TASK_DONE, VERIFIED_STATUS_SQL, Store, get_run
from corebench_runner.store.reliability import reliability
from corebench_runner.store.suites import (  # noqa: F401 (capsule_suites: read by the report)
    UNRECORDED_SUITE,
    capsule_suites,
    suite_label,
)
from corebench_runner.store.verification import GRADED_OUTCOMES, run_verification  # noqa: F401 (read by the report)


@dataclass
class RunSummary:
    id: str
    created: str
    finished: str | None
    status: str
    model: str
    scaffold: str
    scaffold_version: str
    suite: str  # benchmark label(s), e.g. "core-bench 1.1 mainline"
    level: str
    grader: str
    engine_version: str
    host: str
    tasks_total: int
    tasks_done: int
    scored: int  # finished tasks that count in accuracy (everything but skipped)
    correct: int
    accuracy: float | None  # None until a task is scored
    verified_correct: int
    verified_accuracy: float | None  # verified_correct / valid_tasks
    open_disputes: int
    infra_errors: int
    valid_tasks: int = 0  # scored tasks not set aside: the verified denominator
    set_aside_tasks: int = 0
    set_asides: list[dict[str, Any]] = field(default_factory=list)  # standing set-aside items with reasons
    review_needed: int = 0  # answers that are not correct
    review_done: int = 0  # of those, decided by a person or set aside
    review_coverage: float | None = None  # review_done / review_needed; None when nothing needs review
    verified_provisional: bool = False  # coverage is not complete yet
    outcomes: dict[str, int] = field(default_factory=dict)
    cost_usd: float | None = 0.0  # None when some task's price is unknown
    seconds: float = 0.0  # sum of task times
    config: dict[str, Any] = field(default_factory=dict)
    reliability: dict[str, Any] = field(default_factory=dict)  # reliability.Reliability.to_json()
    reproduced_correct: int = 0  # tasks correct with every answer reproduced by the re-run
    reproduced_accuracy: float | None = None  # None when no re-run checked the run (no --verify)
    correct_by_source: dict[str, int] = field(default_factory=dict)  # correct answers per source
    rerun_seconds: float = 0.0  # sum of the re-runs' times, apart from `seconds`

    def source_shares(self) -> dict[str, float]:
        """The share of correct answers per source."""
        total = sum(self.correct_by_source.values())
        return {source: count / total for source, count in self.correct_by_source.items()} if total else {}

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class QuestionResult:
    answer_id: int
    question: str
    reported: Any
    reported_present: bool
    references: list[Any]
    vision: bool
    status: str  # automatic verdict
    reason: str
    verified_status: str  # after reviews
    set_aside: bool = False  # its question (or its task) is set aside: left out of verified accuracy
    source: str | None = None  # where the value came from (diagnostics/provenance.py); None before it was traced
    source_evidence: dict[str, Any] | None = None  # {command, lines, note}
    reproduced: str | None = None  # yes | no | no_recipe | rerun_failed; None: not re-run
    confidence: float | None = None  # the agent's, from 0 to 1 (store/calibration.py); None: it gave none


@dataclass
class TaskDetail:
    task_id: int
    capsule_id: str
    repeat: int
    status: str
    outcome: str | None
    verified_correct: bool
    set_aside: bool
    error: str | None
    attempts: int
    cost_usd: float | None
    seconds: float | None
    steps: int | None
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    transcript_path: str | None
    artifacts_dir: str | None
    questions: list[QuestionResult]
    rerun_seconds: float | None = None  # the re-run of reproduce.sh, apart from `seconds`

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def run_summary(store: Store, run_id: str) -> RunSummary:
    """Counts, accuracies, disputes and cost of one run (a unique id prefix is accepted)."""
    run = get_run(store, run_id)
    rid = run["id"]
    outcomes = {row[0]: row[1] for row in store.query(
        "SELECT outcome, COUNT(*) FROM tasks WHERE run_id = ? AND status = ? GROUP BY outcome", (rid, TASK_DONE))}
    totals = store.conn.execute(
        "SELECT COUNT(*), SUM(status = ?), SUM(COALESCE(seconds, 0)), SUM(cost_usd IS NULL AND status = ?), "
        "SUM(COALESCE(cost_usd, 0)) FROM tasks WHERE run_id = ?", (TASK_DONE, TASK_DONE, rid)).fetchone()
    total, done, seconds, unknown_cost, cost = (totals[0], totals[1] or 0, totals[2] or 0.0, totals[3] or 0,
                                                totals[4] or 0.0)
    scored = done - outcomes.get(Outcome.SKIPPED.value, 0)
    correct = outcomes.get(Outcome.CORRECT.value, 0)
    found_verified = run_verification(store, rid, run["config_json"])
    verified_ids = found_verified.verified_task_ids
    verified = len(verified_ids)
    valid = scored - len(found_verified.set_aside_task_ids)
    config = json.loads(run["config_json"] or "{}")
    scored_tasks = [t for t in store.query("SELECT id, capsule_id, repeat FROM tasks WHERE run_id = ? AND status = ? "
                                           "AND outcome != ?", (rid, TASK_DONE, Outcome.SKIPPED.value))
                    if t["id"] not in found_verified.set_aside_task_ids]
    repeats_planned = int((config.get("options") or {}).get("repeats") or 0) or (store.conn.execute(
        "SELECT MAX(repeat) + 1 FROM tasks WHERE run_id = ?", (rid,)).fetchone()[0] or 0)
    found = reliability(((t["capsule_id"], t["repeat"], t["id"] in verified_ids) for t in scored_tasks),
                        repeats_planned)
    disputes = sum(row[0] not in found_verified.set_aside_answer_ids for row in store.query(
        f"SELECT answers.id FROM answers JOIN tasks t ON t.id = answers.task_id "
        f"WHERE t.run_id = ? AND {VERIFIED_STATUS_SQL} = 'disputed'", (rid,)))
    reproduced = _reproduced_counts(store, rid)
    return RunSummary(
        id=rid, created=run["created"], finished=run["finished"], status=run["status"], model=run["model"],
        scaffold=run["scaffold"], scaffold_version=run["scaffold_version"], suite=suite_label(config),
        level=run["level"],
        grader=run["grader"], engine_version=run["engine_version"], host=run["host"],
        tasks_total=total, tasks_done=done, scored=scored, correct=correct,
        accuracy=(correct / scored) if scored else None,
        verified_correct=verified, verified_accuracy=(verified / valid) if valid else None,
        open_disputes=disputes, infra_errors=outcomes.get(Outcome.INFRA_ERROR.value, 0),
        outcomes=outcomes, cost_usd=None if unknown_cost else cost, seconds=seconds,
        config=config, reliability=found.to_json(),
        valid_tasks=valid, set_aside_tasks=len(found_verified.set_aside_task_ids),
        set_asides=[s.to_json() for s in found_verified.set_asides],
        review_needed=len(found_verified.needs_review_ids), review_done=len(found_verified.reviewed_ids),
        review_coverage=found_verified.coverage, verified_provisional=not found_verified.complete,
        reproduced_correct=reproduced[0], reproduced_accuracy=(reproduced[0] / scored) if scored and reproduced[1]
        else None, correct_by_source=_correct_by_source(store, rid), rerun_seconds=reproduced[2],
    )


def _reproduced_counts(store: Store, rid: str) -> tuple[int, int, float]:
    """(tasks correct with every answer reproduced, answers a re-run checked, seconds the re-runs took)."""
    correct = store.conn.execute(
        f"SELECT COUNT(*) FROM tasks t WHERE t.run_id = ? AND t.status = '{TASK_DONE}' AND t.outcome = ? "
        "AND EXISTS (SELECT 1 FROM answers WHERE answers.task_id = t.id) AND NOT EXISTS (SELECT 1 FROM answers "
        "WHERE answers.task_id = t.id AND COALESCE(answers.reproduced, '') != 'yes')",
        (rid, Outcome.CORRECT.value)).fetchone()[0]
    checked, seconds = store.conn.execute(
        "SELECT (SELECT COUNT(*) FROM answers JOIN tasks t ON t.id = answers.task_id WHERE t.run_id = ? "
        "AND answers.reproduced IS NOT NULL), (SELECT SUM(COALESCE(rerun_seconds, 0)) FROM tasks WHERE run_id = ?)",
        (rid, rid)).fetchone()
    return correct, checked, seconds or 0.0


def _correct_by_source(store: Store, rid: str) -> dict[str, int]:
    return {row[0]: row[1] for row in store.query(
        "SELECT COALESCE(answers.source, 'unknown'), COUNT(*) FROM answers JOIN tasks t ON t.id = answers.task_id "
        "WHERE t.run_id = ? AND answers.status = 'correct' GROUP BY 1 ORDER BY 2 DESC, 1", (rid,))}


def list_runs(store: Store, limit: int | None = None) -> list[RunSummary]:
    """Every run, newest first."""
    sql = "SELECT id FROM runs ORDER BY created DESC, rowid DESC"
    rows = store.query(sql + (" LIMIT ?" if limit else ""), (limit,) if limit else ())
    return [run_summary(store, row["id"]) for row in rows]


def task_details(store: Store, run_id: str) -> list[TaskDetail]:
    """Every task of a run with its per-question verdicts (automatic and standing)."""
    run = get_run(store, run_id)
    rid = run["id"]
    found_verified = run_verification(store, rid, run["config_json"])
    verified_ids = found_verified.verified_task_ids
    questions: dict[int, list[QuestionResult]] = {}
    for row in store.query(
            f"SELECT answers.*, {VERIFIED_STATUS_SQL} AS verified_status FROM answers "
            f"JOIN tasks t ON t.id = answers.task_id WHERE t.run_id = ? ORDER BY answers.id", (rid,)):
        present = row["reported_json"] is not None
        questions.setdefault(row["task_id"], []).append(QuestionResult(
            answer_id=row["id"], question=row["question"],
            reported=json.loads(row["reported_json"]) if present else None, reported_present=present,
            references=json.loads(row["references_json"]), vision=bool(row["vision"]), status=row["status"],
            reason=row["reason"], verified_status=row["verified_status"],
            set_aside=row["id"] in found_verified.set_aside_answer_ids, source=row["source"],
            source_evidence=json.loads(row["source_evidence_json"]) if row["source_evidence_json"] else None,
            reproduced=row["reproduced"], confidence=row["confidence"]))
    return [TaskDetail(
        task_id=t["id"], capsule_id=t["capsule_id"], repeat=t["repeat"], status=t["status"], outcome=t["outcome"],
        verified_correct=t["id"] in verified_ids, set_aside=t["id"] in found_verified.set_aside_task_ids,
        error=t["error"], attempts=t["attempts"], cost_usd=t["cost_usd"],
        seconds=t["seconds"], steps=t["steps"], input_tokens=t["input_tokens"], output_tokens=t["output_tokens"],
        cache_creation_input_tokens=t["cache_creation_input_tokens"], cache_read_input_tokens=t["cache_read_input_tokens"],
        transcript_path=t["transcript_path"], artifacts_dir=t["artifacts_dir"], questions=questions.get(t["id"], []),
        rerun_seconds=t["rerun_seconds"])
        for t in store.query("SELECT * FROM tasks WHERE run_id = ? ORDER BY capsule_id, repeat", (rid,))]


def runs_json(store: Store) -> list[dict[str, Any]]:
    """The `corebench runs --json` contract: a list of runs, newest first."""
    return [summary.to_json() for summary in list_runs(store)]


def verified_detail(summary: RunSummary) -> str:
    """What the verified number counts: "5 of 11 valid tasks, 1 set aside; provisional: 3 of 8 ... reviewed"."""
    parts = [f"{summary.verified_correct} of {summary.valid_tasks} valid tasks"]
    if summary.set_aside_tasks:
        parts[0] += f", {summary.set_aside_tasks} set aside"
    if summary.verified_provisional:
        parts.append(f"provisional: {summary.review_done} of {summary.review_needed} not-correct answers reviewed")
    return "; ".join(parts)


def verified_phrase(summary: RunSummary) -> str:
    """Verified accuracy as every command states it: "45.5% (5 of 11 valid tasks; provisional: ...)"."""
    return f"{percent(summary.verified_accuracy, 'n/a')} ({verified_detail(summary)})"


def coverage_phrase(summary: RunSummary) -> str:
    """Review coverage in words: "3 of 8 not-correct answers decided or set aside (37.5%)"."""
    if not summary.review_needed:
        return "complete (no answer needs review)"
    state = "complete" if not summary.verified_provisional else "incomplete"
    return (f"{summary.review_done} of {summary.review_needed} not-correct answers decided or set aside "
            f"({percent(summary.review_coverage)}, {state})")


def percent(value: float | None, missing: str = "-") -> str:
    """A share as a percentage with one decimal; `missing` where there is none (no task scored yet)."""
    return missing if value is None else f"{value:.1%}"
