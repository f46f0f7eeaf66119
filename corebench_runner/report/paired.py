"""Paired comparisons of two runs over the same capsules: the difference a paper may claim, and its doubt.

Two agents run on the same capsules are paired: a capsule that is hard for one is usually hard for
the other, so comparing the two accuracies as if independent overstates the doubt. Two tests:

- a paired bootstrap over capsules: each capsule's score is the share of its repeats verified
  correct; capsules are resampled with replacement (both runs together) and the difference of
  mean scores is read off each resample; the 95% interval is the 2.5th and 97.5th percentiles.
- McNemar's exact test on task outcomes: tasks are paired by (capsule, repeat); only discordant
  pairs (one run right, the other wrong) carry information, and under "no difference" each is
  equally likely to go either way, so the p-value is a two-sided binomial test on them (scipy).

Set-aside and skipped tasks, and tasks not done, are left out of both: they have no verdict.
The bootstrap's seed is fixed so that building the same store twice gives the same pages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import binomtest

BOOTSTRAP_RESAMPLES = 5000
SEED = 20260
# Outcomes in the verified denominator (store/results.py): an open dispute and an infra error count as not correct.
SCORED = ("correct", "incorrect", "disputed", "no_report", "invalid_report", "timeout", "budget_exceeded",
          "infra_error")


@dataclass
class PairedComparison:
    """Run A against run B on the capsules both have a verdict for (A minus B)."""

    run_a: str
    run_b: str
    capsules: int  # capsules paired (the bootstrap's n)
    tasks: int  # (capsule, repeat) pairs (McNemar's n)
    accuracy_a: float  # mean per-capsule score over the paired capsules
    accuracy_b: float
    difference: float  # accuracy_a - accuracy_b
    ci_low: float  # 95% paired bootstrap interval of the difference
    ci_high: float
    only_a: int  # tasks A got right and B did not
    only_b: int  # tasks B got right and A did not
    mcnemar_p: float  # exact two-sided; 1.0 when no task is discordant

    @property
    def significant(self) -> bool:
        """The interval leaves out zero: the sign of the difference is supported at 95%."""
        return not math.isnan(self.ci_low) and (self.ci_low > 0 or self.ci_high < 0)


def scored_tasks(tasks: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """One run's tasks that have a verdict: capsule_id, repeat, ok (verified correct)."""
    mine = tasks[tasks["run_id"].eq(run_id) & tasks["verified_outcome"].isin(SCORED)]
    return mine.assign(ok=mine["verified_outcome"].eq("correct"))[["capsule_id", "repeat", "ok"]]


def compare(tasks: pd.DataFrame, run_a: str, run_b: str, resamples: int = BOOTSTRAP_RESAMPLES,
            seed: int = SEED) -> PairedComparison:
    """Paired bootstrap over capsules and McNemar's test over tasks, run_a minus run_b."""
    a, b = scored_tasks(tasks, run_a), scored_tasks(tasks, run_b)
    per_capsule = pd.concat([a.groupby("capsule_id")["ok"].mean().rename("a"),
                             b.groupby("capsule_id")["ok"].mean().rename("b")], axis=1, join="inner")
    low, high = bootstrap_interval(per_capsule["a"].to_numpy(float), per_capsule["b"].to_numpy(float),
                                   resamples, seed)
    paired = a.merge(b, on=["capsule_id", "repeat"], suffixes=("_a", "_b"))
    only_a = int((paired["ok_a"] & ~paired["ok_b"]).sum())
    only_b = int((paired["ok_b"] & ~paired["ok_a"]).sum())
    accuracy_a = float(per_capsule["a"].mean()) if len(per_capsule) else math.nan
    accuracy_b = float(per_capsule["b"].mean()) if len(per_capsule) else math.nan
    return PairedComparison(run_a=run_a, run_b=run_b, capsules=len(per_capsule), tasks=len(paired),
                            accuracy_a=accuracy_a, accuracy_b=accuracy_b, difference=accuracy_a - accuracy_b,
                            ci_low=low, ci_high=high, only_a=only_a, only_b=only_b,
                            mcnemar_p=mcnemar_exact(only_a, only_b))


def bootstrap_interval(a: np.ndarray, b: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES,
                       seed: int = SEED) -> tuple[float, float]:
    """95% percentile interval of mean(a - b), resampling the pairs (capsules) with replacement."""
    if len(a) == 0:
        return (math.nan, math.nan)
    differences = a - b
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(differences), size=(resamples, len(differences)))
    means = differences[picks].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return (float(low), float(high))


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Exact McNemar p-value: two-sided binomial test of the discordant pairs against one half."""
    if only_a + only_b == 0:
        return 1.0
    return float(binomtest(only_a, only_a + only_b, 0.5).pvalue)


def all_pairs(tasks: pd.DataFrame, run_ids: list[str]) -> list[PairedComparison]:
    """Every pair of the given runs in their order (a leaderboard's ranking): the better-ranked one is A."""
    return [compare(tasks, run_ids[i], run_ids[j]) for i in range(len(run_ids)) for j in range(i + 1, len(run_ids))]
