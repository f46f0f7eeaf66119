"""Comparable leaderboards and the cost frontier: which runs may be ranked together, and how.

A leaderboard is one suite (benchmark, version, split) at one level. A run is ranked only beside
runs over the same capsule set: the suite's full set, which is every capsule any run of the suite
attempted. Runs over fewer capsules (smoke tests) or with tasks still pending (running or killed)
are listed apart with their coverage, never ranked. Among complete runs of one (model, scaffold) the latest stands for it.
Ranking: verified accuracy, then cost per task (cheaper first, unknown cost last).
Reference runs (the oracle, and any run with no model) are never ranked: a complete one is the board's
ceiling, drawn as a line and listed apart, and kept out of every agent count.

The frontier is HAL's: of the ranked runs with a known cost, the efficient ones (no other run is
at least as accurate for less), then the upper convex hull of those, drawn as a line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from corebench_runner.report.data import NO_MODEL, ReportData, slug

LEVEL_ORDER = {"easy": 0, "medium": 1, "hard": 2}
REFERENCE_SCAFFOLDS = ("oracle",)


def is_reference(model: object, scaffold: object) -> bool:
    """A reference run shows what is reachable (the oracle copies the answers): no agent, so never ranked."""
    return model is None or str(model).strip().lower() in NO_MODEL or scaffold in REFERENCE_SCAFFOLDS


@dataclass
class Board:
    """One suite at one level: its ranked runs, partial runs and what it takes to be complete."""

    suite: str
    level: str
    capsules: int  # size of the suite's full capsule set
    ranked: pd.DataFrame  # latest complete run per (model, scaffold), best first; `rank`, `coverage`, `run_count`
    partial: pd.DataFrame  # runs over fewer capsules, newest first
    frontier: list[str] = field(default_factory=list)  # run ids on the drawn frontier, cheapest first
    # Latest complete reference run per scaffold: the ceiling line, never ranked, never an agent.
    reference: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def anchor(self) -> str:
        return slug(f"{self.suite} {self.level}")

    @property
    def unknown_cost(self) -> pd.DataFrame:
        """Ranked runs with no cost at all: they cannot sit on a cost axis, so they are listed under it."""
        return self.ranked[self.ranked["cost_per_task"].isna()]


def run_capsules(data: ReportData) -> dict[str, frozenset[str]]:
    """The capsules each run planned (a capsule counts once however many repeats it has)."""
    return {run_id: frozenset(group) for run_id, group in data.tasks.groupby("run_id")["capsule_id"]}


def suite_capsules(data: ReportData) -> dict[str, frozenset[str]]:
    """A suite's full capsule set: every capsule any run of the suite planned, across levels."""
    tasks = data.tasks[["capsule_id", "suite"]].drop_duplicates()
    return {suite: frozenset(group) for suite, group in tasks.groupby("suite")["capsule_id"]}


def boards(data: ReportData) -> list[Board]:
    """Every (suite, level) leaderboard, suites by name, levels easy to hard."""
    if data.runs.empty:
        return []
    planned = run_capsules(data)
    full = suite_capsules(data)
    runs = data.runs.assign(
        capsules_planned=[len(planned.get(r, ())) for r in data.runs["id"]],
        suite_capsules=[len(full.get(s, ())) for s in data.runs["suite"]],
    )
    # A run planned over capsules of several suites is its own suite ("a + b"): its set is its own.
    runs["suite_capsules"] = runs["suite_capsules"].where(runs["suite_capsules"] > 0, runs["capsules_planned"])
    covers_all = [planned.get(r, frozenset()) >= full.get(s, planned.get(r, frozenset()))
                  for r, s in zip(runs["id"], runs["suite"])]
    # A run still going (or killed) has tasks left: its accuracy may yet move, so it is not ranked either.
    runs["complete"] = pd.Series(covers_all, index=runs.index) & runs["n_pending"].eq(0)
    runs["coverage"] = [f"{n}/{total} capsules" + (f", {pending} tasks pending" if pending else "")
                        for n, total, pending in zip(runs["capsules_planned"], runs["suite_capsules"], runs["n_pending"])]
    out = []
    keys = sorted({(s, lv) for s, lv in zip(runs["suite"], runs["level"])},
                  key=lambda k: (k[0], LEVEL_ORDER.get(k[1], 9), k[1]))
    for suite, level in keys:
        mine = runs[runs["suite"].eq(suite) & runs["level"].eq(level)]
        reference = pd.Series([is_reference(m, s) for m, s in zip(mine["model"], mine["scaffold"])],
                              index=mine.index, dtype=bool)
        complete = mine[mine["complete"] & ~reference]
        ranked = _rank(complete)
        ceiling = (mine[mine["complete"] & reference].sort_values(["created", "id"], ascending=[False, True])
                   .drop_duplicates("scaffold").reset_index(drop=True))
        partial = mine[~mine["complete"]].sort_values(["created", "id"], ascending=[False, True])
        board = Board(suite=suite, level=level, capsules=int(mine["suite_capsules"].max()), ranked=ranked,
                      partial=partial.reset_index(drop=True), reference=ceiling)
        board.frontier = pareto_frontier(ranked)
        out.append(board)
    return out


def _rank(complete: pd.DataFrame) -> pd.DataFrame:
    """Latest complete run per (model, scaffold), then best verified accuracy first, cheaper first on a tie."""
    newest = complete.sort_values(["created", "id"], ascending=[False, True])
    counts = newest.groupby(["model", "scaffold"]).size().rename("run_count")
    latest = newest.drop_duplicates(["model", "scaffold"], keep="first").join(counts, on=["model", "scaffold"])
    ranked = latest.sort_values(["verified_accuracy", "cost_per_task", "model", "scaffold"],
                                ascending=[False, True, True, True], na_position="last").reset_index(drop=True)
    ranked["rank"] = range(1, len(ranked) + 1)
    return ranked


def efficient(points: list[tuple[float, float, Any]]) -> list[tuple[float, float, Any]]:
    """Points (cost, accuracy, key) no other point dominates (as accurate or more, for less or the same), cheapest first."""
    best: list[tuple[float, float, Any]] = []
    for cost, accuracy, key in sorted(points, key=lambda p: (p[0], -p[1])):
        if not best or accuracy > best[-1][1]:
            best.append((cost, accuracy, key))
    return best


def upper_hull(points: list[tuple[float, float, Any]], log_cost: bool = True) -> list[tuple[float, float, Any]]:
    """The upper convex hull of efficient points, left to right (on a log cost axis, as the chart draws it)."""
    import math

    def x(p: tuple[float, float, Any]) -> float:
        return math.log10(p[0]) if log_cost and p[0] > 0 else p[0]

    hull: list[tuple[float, float, Any]] = []
    for point in points:
        # Pop the last point while it lies on or under the segment from its neighbour to the new point.
        while len(hull) >= 2:
            (a, b) = hull[-2], hull[-1]
            cross = (x(b) - x(a)) * (point[1] - a[1]) - (b[1] - a[1]) * (x(point) - x(a))
            if cross >= 0:
                hull.pop()
            else:
                break
        hull.append(point)
    return hull


def pareto_frontier(ranked: pd.DataFrame) -> list[str]:
    """Run ids on the frontier of accuracy against cost per task (known, positive costs only)."""
    priced = ranked[ranked["cost_per_task"].notna() & ranked["verified_accuracy"].notna()
                    & ranked["cost_per_task"].gt(0)]
    points = list(zip(priced["cost_per_task"].astype(float), priced["verified_accuracy"].astype(float), priced["id"]))
    return [key for _, _, key in upper_hull(efficient(points))]
