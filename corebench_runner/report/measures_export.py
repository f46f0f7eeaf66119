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

from corebench_runner.report.efficiency import PHASES, RunEfficiency
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
