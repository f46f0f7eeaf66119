"""measures.json and efficiency.csv beside the site's pages: the measures after saturation, for other tools.

measures.json holds, per run, its calibration (store/calibration.py) and efficiency
(report/efficiency.py), and the people's-session study measures (store/sessions.py); efficiency.csv
has one row per task. Numbers are the ones the pages and `corebench show` print.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from corebench_runner.report.efficiency import PHASES, RunEfficiency, TaskEfficiency
from corebench_runner.store.calibration import Calibration
from corebench_runner.store.sessions import StudyMeasures


def write_measures(out: Path, per_run: dict[str, tuple[Calibration, RunEfficiency]],
                   studies: list[StudyMeasures]) -> None:
    runs: dict[str, Any] = {}
    for run_id, (calibration, efficiency) in per_run.items():
        summary = asdict(efficiency)
        summary.pop("tasks")
        summary["failed_cost_share"] = efficiency.failed_cost_share
        runs[run_id] = {"calibration": asdict(calibration), "efficiency": summary}
    document = {"runs": runs, "studies": [asdict(s) for s in studies]}
    (out / "measures.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with open(out / "efficiency.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["run_id", "task_id", "capsule_id", "outcome", "cost_usd", "seconds", "first_code_run_seconds",
                         "setup_seconds", "code_seconds", "turns", "tool_calls",
                         *(f"tokens_{p}" for p in PHASES), *(f"cost_{p}" for p in PHASES)])
        for run_id, (_, efficiency) in per_run.items():
            for t in efficiency.tasks:
                costs = t.cost_by_phase
                writer.writerow([run_id, t.task_id, t.capsule_id, t.outcome, t.cost_usd, t.seconds,
                                 t.first_code_run_seconds, round(t.setup_seconds, 3), round(t.code_seconds, 3), t.turns,
                                 t.tool_calls, *(t.tokens_by_phase[p] for p in PHASES), *(costs[p] for p in PHASES)])


def task_efficiency_fields(t: TaskEfficiency | None) -> dict[str, Any]:
    """One task's breakdown as flat fields, named as in efficiency.csv (None throughout for a task not done)."""
    if t is None:
        return dict.fromkeys(TASK_EFFICIENCY_FIELDS)
    costs = t.cost_by_phase
    return {"first_code_run_seconds": t.first_code_run_seconds, "setup_seconds": round(t.setup_seconds, 3),
            "code_seconds": round(t.code_seconds, 3), "turns": t.turns, "tool_calls": t.tool_calls,
            **{f"tokens_{p}": t.tokens_by_phase[p] for p in PHASES}, **{f"cost_{p}": costs[p] for p in PHASES}}


TASK_EFFICIENCY_FIELDS = ["first_code_run_seconds", "setup_seconds", "code_seconds", "turns", "tool_calls",
                          *(f"tokens_{p}" for p in PHASES), *(f"cost_{p}" for p in PHASES)]


def run_efficiency_fields(found: RunEfficiency) -> dict[str, Any]:
    """A run's efficiency totals, as `show` prints them."""
    return {"turns": found.turns, "tool_calls": found.tool_calls, "setup_seconds": round(found.setup_seconds, 3),
            "code_seconds": round(found.code_seconds, 3),
            "median_first_code_run_seconds": found.median_first_code_run_seconds,
            "tokens_by_phase": dict(found.tokens_by_phase), "cost_by_phase": dict(found.cost_by_phase),
            "cost_on_failed_usd": found.cost_on_failed_usd, "failed_cost_share": found.failed_cost_share}


def calibration_fields(found: Calibration) -> dict[str, Any]:
    """A run's calibration scores and the answer counts they rest on."""
    return {"brier": found.brier, "ece": found.ece, "auroc": found.auroc, "answers": found.answers,
            "answers_with_confidence": found.with_confidence + found.unsettled,
            "answers_without_confidence": found.missing, "answers_scored": found.with_confidence,
            "answers_disputed": found.unsettled}
