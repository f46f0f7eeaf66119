"""Per-task success: capsules x agents (model, scaffold) of one leaderboard.

Each ranked run of a board gives a row; a cell is the share of that run's repeats of the capsule
that were verified correct, and links to a transcript (the first failed repeat when there is one:
that is what a reader wants to open). Two summary rows: "any agent" (how many agents solve the
capsule at least once: saturation) and "no agent" (capsules nobody solves: perhaps broken).
A reference run (the oracle) gets a ceiling row above the agents: shown, never ranked, never counted
in "any agent", so "no agent solves it" can fire even when the oracle reaches the answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from corebench_runner.records import Outcome
from corebench_runner.report.boards import Board
from corebench_runner.report.data import ReportData
from corebench_runner.store.database import TASK_DONE


@dataclass
class Heatmap:
    capsules: list[str]
    rows: list[dict[str, Any]]  # each: run (record fields), cells {capsule: cell}
    any_agent: dict[str, dict[str, Any]]  # capsule -> {solved_by, agents, share}
    unsolved: list[str]  # capsules no agent solves in any repeat
    ceiling: list[dict[str, Any]] = field(default_factory=list)  # reference runs' rows, as `rows` but no rank


def heatmap(data: ReportData, board: Board) -> Heatmap:
    shown_ids = list(board.ranked["id"]) + (list(board.reference["id"]) if len(board.reference) else [])
    capsules = sorted(data.tasks[data.tasks["suite"].eq(board.suite)
                                 & data.tasks["run_id"].isin(shown_ids)]["capsule_id"].unique())
    tasks = data.tasks[data.tasks["run_id"].isin(shown_ids) & data.tasks["status"].eq(TASK_DONE)
                       & ~data.tasks["outcome"].eq(Outcome.SKIPPED.value)]
    tasks = tasks.assign(ok=tasks["verified_outcome"].eq("correct")).sort_values(["run_id", "capsule_id", "repeat"])
    # One pass over the tasks: every cell's numbers, and the repeat its link opens (first failed, else first).
    failed_first = tasks.sort_values(["run_id", "capsule_id", "ok", "repeat"])
    shown = failed_first.drop_duplicates(["run_id", "capsule_id"]).set_index(["run_id", "capsule_id"])
    grouped = tasks.groupby(["run_id", "capsule_id"])
    cells_frame = pd.DataFrame({
        "correct": grouped["ok"].sum(), "repeats": grouped.size(),
        "outcomes": grouped["verified_outcome"].agg(lambda s: ", ".join(str(o).replace("_", " ") for o in s)),
    }).join(shown[["id", "transcript_path"]])
    cells_by_run: dict[str, dict[str, dict[str, Any]]] = {}
    for (run_id, capsule), row in cells_frame.iterrows():
        share = int(row["correct"]) / int(row["repeats"])
        cells_by_run.setdefault(run_id, {})[capsule] = {
            "correct": int(row["correct"]), "repeats": int(row["repeats"]), "share": share, "level": _shade(share),
            "task_id": int(row["id"]), "outcomes": row["outcomes"],
            "has_transcript": isinstance(row["transcript_path"], str) and bool(row["transcript_path"])}
    rows = []
    solved_by: dict[str, int] = {c: 0 for c in capsules}
    agents: dict[str, int] = {c: 0 for c in capsules}
    for run in board.ranked[["id", "slug", "model", "scaffold", "rank"]].to_dict("records"):
        cells = cells_by_run.get(run["id"], {})
        for capsule, cell in cells.items():
            agents[capsule] += 1
            solved_by[capsule] += int(cell["correct"] > 0)
        rows.append({"run_id": run["id"], "slug": run["slug"], "model": run["model"], "scaffold": run["scaffold"],
                     "rank": int(run["rank"]), "cells": cells})
    ceiling = [{"run_id": run["id"], "slug": run["slug"], "model": run["model"], "scaffold": run["scaffold"],
                "cells": cells_by_run.get(run["id"], {})}
               for run in (board.reference.to_dict("records") if len(board.reference) else [])]
    any_agent = {c: {"solved_by": solved_by[c], "agents": agents[c],
                     "share": solved_by[c] / agents[c] if agents[c] else None} for c in capsules}
    unsolved = [c for c in capsules if agents[c] and not solved_by[c]]
    return Heatmap(capsules=capsules, rows=rows, any_agent=any_agent, unsolved=unsolved, ceiling=ceiling)


def _shade(share: float) -> int:
    """0..4: the colour step of a cell (0 = never solved, 4 = always)."""
    return 0 if share == 0 else (4 if share == 1 else 1 + min(2, int(share * 3)))
