"""Paired comparisons between two runs: paired bootstrap over capsules and McNemar's exact test."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from corebench_runner.report.paired import all_pairs, bootstrap_interval, compare, mcnemar_exact


def _tasks(run_id: str, outcomes: dict[str, list[str]]) -> list[dict]:
    return [{"run_id": run_id, "capsule_id": capsule, "repeat": repeat, "verified_outcome": outcome}
            for capsule, repeats in outcomes.items() for repeat, outcome in enumerate(repeats)]


def test_a_clearly_better_run_gets_an_interval_above_zero_and_a_small_mcnemar_p():
    capsules = [f"c{n}" for n in range(40)]
    strong = {c: ["correct"] for c in capsules[:34]} | {c: ["incorrect"] for c in capsules[34:]}
    weak = {c: ["correct"] for c in capsules[:10]} | {c: ["timeout"] for c in capsules[10:]}
    tasks = pd.DataFrame(_tasks("strong", strong) + _tasks("weak", weak))
    result = compare(tasks, "strong", "weak")
    assert result.capsules == 40 and result.tasks == 40
    assert result.difference == pytest.approx(24 / 40)
    assert 0 < result.ci_low < result.difference < result.ci_high
    assert (result.only_a, result.only_b) == (24, 0)
    assert result.mcnemar_p < 1e-6 and result.significant


def test_equal_runs_that_disagree_on_different_capsules_are_not_significant():
    capsules = [f"c{n}" for n in range(20)]
    a = {c: ["correct" if n % 2 else "incorrect"] for n, c in enumerate(capsules)}
    b = {c: ["incorrect" if n % 2 else "correct"] for n, c in enumerate(capsules)}
    result = compare(pd.DataFrame(_tasks("a", a) + _tasks("b", b)), "a", "b")
    assert result.difference == 0
    assert result.ci_low < 0 < result.ci_high and not result.significant
    assert (result.only_a, result.only_b) == (10, 10) and result.mcnemar_p == pytest.approx(1.0)


def test_only_shared_capsules_with_a_verdict_are_paired_and_repeats_average_per_capsule():
    a = {"c1": ["correct", "incorrect"], "c2": ["correct", "correct"], "c3": ["set_aside", "set_aside"],
         "c4": ["correct"]}
    b = {"c1": ["correct", "correct"], "c2": ["skipped", "incorrect"], "c3": ["correct", "correct"]}
    result = compare(pd.DataFrame(_tasks("a", a) + _tasks("b", b)), "a", "b")
    # c3 is set aside in a, c4 missing in b, c2's skipped repeat has no verdict: c1 (2 pairs) and c2 (1 pair).
    assert result.capsules == 2 and result.tasks == 3
    assert result.accuracy_a == pytest.approx((0.5 + 1.0) / 2)
    assert result.accuracy_b == pytest.approx((1.0 + 0.0) / 2)
    assert (result.only_a, result.only_b) == (1, 1)


def test_bootstrap_is_reproducible_and_empty_input_gives_no_interval():
    a = pd.Series([1, 0, 1, 1, 0, 1]).to_numpy(float)
    b = pd.Series([0, 0, 1, 0, 0, 1]).to_numpy(float)
    assert bootstrap_interval(a, b) == bootstrap_interval(a, b)
    assert all(math.isnan(v) for v in bootstrap_interval(a[:0], b[:0]))


def test_mcnemar_matches_the_exact_binomial_values():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(0, 5) == pytest.approx(2 * 0.5**5)
    assert mcnemar_exact(8, 2) == pytest.approx(0.109375)


def test_all_pairs_keeps_the_given_order_so_the_better_ranked_run_is_a():
    tasks = pd.DataFrame(_tasks("x", {"c": ["correct"]}) + _tasks("y", {"c": ["incorrect"]})
                         + _tasks("z", {"c": ["correct"]}))
    pairs = all_pairs(tasks, ["x", "y", "z"])
    assert [(p.run_a, p.run_b) for p in pairs] == [("x", "y"), ("x", "z"), ("y", "z")]
