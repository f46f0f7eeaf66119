"""Model against scaffold: one grid per suite and level, models as rows and scaffolds as columns.

A cell is the run that stands for that (model, scaffold) on the leaderboard (report/boards.py: the
latest complete run over the suite's full capsule set): its verified accuracy with a 95% interval
(over repeats when the run has them, else Wilson's over tasks), cost per task and agent time per
task. The effects put HAL's by-hand reading into words: for each model present under two or more
scaffolds, the gain from its worst scaffold to its best ("the same model gains 36 points moving
from core-agent to claude-code"); for each scaffold under two or more models, the same by model.
People's sessions (scaffold human, human+AGENT) are not agents and stay out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from corebench_runner.report.boards import Board


@dataclass(frozen=True)
class Cell:
    accuracy: float | None
    low: float | None
    high: float | None
    over_repeats: bool
    cost_per_task: float | None
    seconds_per_task: float | None
    run_slug: str


@dataclass
class Grid:
    suite: str
    level: str
    anchor: str
    models: list[str]
    scaffolds: list[str]
    cells: dict[str, dict[str, Cell]]  # model -> scaffold -> cell
    model_effects: list[str] = field(default_factory=list)
    scaffold_effects: list[str] = field(default_factory=list)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _cell(run: Any) -> Cell:
    repeats = int(_number(run.get("repeats_planned")) or 1)
    over_repeats = repeats > 1 and _number(run.get("mean_ci_low")) is not None
    low = run.get("mean_ci_low") if over_repeats else run.get("verified_ci_low")
    high = run.get("mean_ci_high") if over_repeats else run.get("verified_ci_high")
    tasks = _number(run.get("tasks")) or 0
    seconds = _number(run.get("agent_seconds"))
    return Cell(accuracy=_number(run.get("verified_accuracy")), low=_number(low), high=_number(high),
                over_repeats=over_repeats, cost_per_task=_number(run.get("cost_per_task")),
                seconds_per_task=seconds / tasks if seconds is not None and tasks else None,
                run_slug=str(run.get("slug")))


def _effects(cells: dict[str, dict[str, Cell]], across: str) -> list[str]:
    """For each row (across="scaffolds": a model) the gain from its weakest column to its strongest."""
    lines = []
    for name, row in cells.items():
        scored = sorted(((c.accuracy, column) for column, c in row.items() if c.accuracy is not None),
                        key=lambda item: (item[0], item[1]))
        if len(scored) < 2:
            continue
        (worst, worst_name), (best, best_name) = scored[0], scored[-1]
        points = round((best - worst) * 100)
        who = f"the same model, {name}," if across == "scaffolds" else f"the same scaffold, {name},"
        if points == 0:
            lines.append(f"{who} scores the same ({best:.0%}) across {len(scored)} {across}")
        else:
            lines.append(f"{who} gains {points} points moving from {worst_name} ({worst:.0%}) to {best_name} "
                         f"({best:.0%})")
    return lines


def grid_for(board: Board) -> Grid | None:
    ranked = board.ranked
    if ranked.empty:
        return None
    agents = ranked[~ranked["scaffold"].astype(str).str.startswith("human")]
    if agents.empty:
        return None
    cells: dict[str, dict[str, Cell]] = {}
    for run in agents.to_dict("records"):
        cells.setdefault(str(run["model"]), {})[str(run["scaffold"])] = _cell(run)
    models = sorted(cells)
    scaffolds = sorted({s for row in cells.values() for s in row})
    by_scaffold: dict[str, dict[str, Cell]] = {s: {m: cells[m][s] for m in models if s in cells[m]} for s in scaffolds}
    return Grid(suite=board.suite, level=board.level, anchor=board.anchor, models=models, scaffolds=scaffolds,
                cells=cells, model_effects=_effects(cells, "scaffolds"),
                scaffold_effects=_effects(by_scaffold, "models"))


def grids(boards: list[Board]) -> list[Grid]:
    return [grid for grid in (grid_for(board) for board in boards) if grid is not None]
