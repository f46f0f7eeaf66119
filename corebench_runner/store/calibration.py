"""Confidence per answer, and how well a run's confidences match its verified correctness.

Per run, over the answers with a confidence and a settled verified status (correct or incorrect;
open disputes wait for a person): the Brier score (mean squared gap between confidence and
correctness, 0 best), the expected calibration error over ten equal-width bins (the share-weighted
gap between a bin's mean confidence and its accuracy) and the AUROC (how often a correct answer got
a higher confidence than a wrong one; 0.5 is chance). Answers without a confidence are counted,
never filled in.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from corebench_runner.store.database import VERIFIED_STATUS_SQL, Store

BINS = 10


def record_confidences(conn: sqlite3.Connection, task_id: int, confidence: dict[str, Any] | None) -> None:
    """Store each answer's confidence (in the task's recording transaction)."""
    for question, value in ((confidence or {}).get("values") or {}).items():
        conn.execute("UPDATE answers SET confidence = ? WHERE task_id = ? AND question = ?",
                     (float(value), task_id, question))


@dataclass(frozen=True)
class CalibrationBin:
    low: float
    high: float
    count: int
    mean_confidence: float
    accuracy: float


@dataclass
class Calibration:
    answers: int  # graded answers of the run
    with_confidence: int  # of those, with a confidence and a settled verdict: what the scores use
    missing: int  # answers the agent gave no confidence for
    unsettled: int  # answers with a confidence whose verdict is still disputed
    brier: float | None = None
    ece: float | None = None
    auroc: float | None = None  # None when all scored answers are right, or all wrong
    bins: list[CalibrationBin] = field(default_factory=list)


_ANSWERS_SQL = f"""
    SELECT answers.confidence AS confidence, {VERIFIED_STATUS_SQL} AS verified
    FROM answers JOIN tasks ON tasks.id = answers.task_id WHERE tasks.run_id = ?
"""


def run_calibration(store: Store, run_id: str) -> Calibration:
    import numpy as np  # here, not at the top: a run records confidences and must not load scipy on its way
    from scipy.stats import mannwhitneyu

    rows = store.query(_ANSWERS_SQL, (run_id,))
    scored = [(float(r["confidence"]), r["verified"] == "correct") for r in rows
              if r["confidence"] is not None and r["verified"] in ("correct", "incorrect")]
    found = Calibration(answers=len(rows), with_confidence=len(scored),
                        missing=sum(r["confidence"] is None for r in rows),
                        unsettled=sum(r["confidence"] is not None and r["verified"] not in ("correct", "incorrect")
                                      for r in rows))
    if not scored:
        return found
    confidence = np.array([c for c, _ in scored])
    correct = np.array([y for _, y in scored], dtype=float)
    found.brier = float(np.mean((confidence - correct) ** 2))
    edges = np.linspace(0.0, 1.0, BINS + 1)
    which = np.minimum(np.digitize(confidence, edges[1:-1], right=False), BINS - 1)  # 1.0 falls in the last bin
    gap = 0.0
    for b in range(BINS):
        chosen = which == b
        if not chosen.any():
            continue
        mean_confidence, accuracy = float(confidence[chosen].mean()), float(correct[chosen].mean())
        found.bins.append(CalibrationBin(float(edges[b]), float(edges[b + 1]), int(chosen.sum()), mean_confidence,
                                         accuracy))
        gap += chosen.sum() / len(scored) * abs(accuracy - mean_confidence)
    found.ece = float(gap)
    right, wrong = confidence[correct == 1], confidence[correct == 0]
    if right.size and wrong.size:
        found.auroc = float(mannwhitneyu(right, wrong).statistic / (right.size * wrong.size))
    return found


def calibration_lines(found: Calibration) -> list[str]:
    """For `corebench show`: the scores and what they rest on."""
    if not found.answers:
        return []
    if not found.with_confidence:
        return [f"calibration: no confidences ({found.missing} of {found.answers} answers without one)"]
    auroc = "-" if found.auroc is None else f"{found.auroc:.3f}"
    return [f"calibration: Brier {found.brier:.3f}   ECE {found.ece:.3f}   AUROC {auroc}   over "
            f"{found.with_confidence} answers ({found.missing} without a confidence, {found.unsettled} disputed)"]
