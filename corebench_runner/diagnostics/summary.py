"""Aggregates for `corebench show` and the reports: the stage funnel, reason and flag tallies.

(Capsules that no model passes, or that one model both passes and fails, are marked in the
reports' capsule matrix by corebench_runner.report.data.capsule_matrix.)
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from corebench_runner.diagnostics import DETAILS_KEY, Diagnosis
from corebench_runner.diagnostics.stages import STAGE_LABELS, STAGES


@dataclass(frozen=True)
class FunnelRow:
    stage: str
    label: str
    reached: int
    total: int
    unknown: int = 0  # tasks whose transcript cannot tell whether they reached the stage

    @property
    def share(self) -> float:
        return self.reached / self.total if self.total else 0.0


def diagnosis_of(details_json: str | Mapping[str, Any] | None) -> Diagnosis | None:
    """The Diagnosis kept in a task's details_json, or None for tasks recorded without one."""
    if not details_json:
        return None
    details = json.loads(details_json) if isinstance(details_json, str) else details_json
    data = details.get(DETAILS_KEY) if isinstance(details, Mapping) else None
    return Diagnosis.from_json(data) if isinstance(data, Mapping) else None


def funnel(diagnoses: Iterable[Diagnosis]) -> list[FunnelRow]:
    """How many tasks reached each stage (each stage counted on its own), in funnel order."""
    items = list(diagnoses)
    return [FunnelRow(stage, STAGE_LABELS[stage], sum(1 for d in items if d.stages.get(stage) is True), len(items),
                      sum(1 for d in items if stage in d.stages and d.stages[stage] is None))
            for stage in STAGES]


def reason_counts(diagnoses: Iterable[Diagnosis]) -> list[tuple[str, int]]:
    """Primary failure reasons, most common first."""
    counts = Counter(d.primary_reason["code"] for d in diagnoses if d.primary_reason)
    return counts.most_common()


def flag_counts(diagnoses: Iterable[Diagnosis]) -> list[tuple[str, int]]:
    """Shortcut flags, most common first (a task counts once per flag code)."""
    counts = Counter(code for d in diagnoses for code in {f["code"] for f in d.flags})
    return counts.most_common()


def funnel_lines(diagnoses: list[Diagnosis]) -> list[str]:
    """The funnel as text for `corebench show`."""
    if not diagnoses:
        return []
    rows = funnel(diagnoses)
    width = max(len(r.label) for r in rows)
    lines = ["stages (tasks that reached each):"]
    for row in rows:
        bar = "#" * round(20 * row.share)
        unknown = f"  ({row.unknown} unknown)" if row.unknown else ""
        lines.append(f"  {row.label:<{width}}  {row.reached:>4}/{row.total:<4} {bar}{unknown}".rstrip())
    reasons = reason_counts(diagnoses)
    if reasons:
        lines.append("failure reasons: " + ", ".join(f"{code} {n}" for code, n in reasons))
    flags = flag_counts(diagnoses)
    if flags:
        lines.append("shortcut flags: " + ", ".join(f"{code} {n}" for code, n in flags))
    return lines


def task_diagnosis_lines(diagnosis: Diagnosis | None) -> list[str]:
    """One task's reason and flags as indented text lines for `corebench show`."""
    if diagnosis is None:
        return []
    lines = []
    reason = diagnosis.primary_reason
    if reason:
        lines.append(f"  why: [{reason['code']}] {reason['message'][:200]}")
        command = reason.get("evidence", {}).get("command")
        if command:
            lines.append(f"      command: {command.splitlines()[0][:160]}")
    if diagnosis.summary:
        lines.append(f"  summary ({diagnosis.summary.get('model', '?')}): {diagnosis.summary.get('text', '')[:400]}")
    for flag in diagnosis.flags:
        where = f" ({flag['question'][:60]})" if flag.get("question") else ""
        lines.append(f"  flag: [{flag['code']}]{where} {flag['message'][:160]}")
    return lines
