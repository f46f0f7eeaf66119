"""The report's tables, built with pandas from the store. All arithmetic for the site lives here.

Templates only lay these tables out; they never add, divide or count. Accuracy numbers come
from corebench_runner.store.results (the same numbers `corebench` prints), per-task verified outcomes
from the standing verdict of every answer (store/frames.py). Every run and task carries its
suite (benchmark label): leaderboards, trends and the capsule matrix are built per suite, so runs
of different benchmark versions or splits never share a row, a line or a cell.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from corebench_runner.models.names import display_name
from corebench_runner.records import Outcome
from corebench_runner.report.numbers import reference_decimals, tidy_text
from corebench_runner.store.database import TASK_DONE, Store
from corebench_runner.store.frames import answers_frame, runs_frame, tasks_frame
from corebench_runner.store.results import GRADED_OUTCOMES, capsule_suites, run_summary
from corebench_runner.store.verification import run_verification

# Columns of the "tasks by outcome" breakdown, in the order a reader scans them.
OUTCOMES = [o.value for o in Outcome]
SET_ASIDE = "set_aside"  # a task's verified outcome when its task (or every question) is set aside
Z_95 = 1.959963984540054
# runs.model of a reference run (the oracle: a scaffold with no model): shown beside agents, never one of them.
NO_MODEL = ("none", "")
# Run columns taken from results.RunSummary.reliability: column -> key.
RELIABILITY_COLUMNS = {"repeats_planned": "repeats_planned", "mean_accuracy": "mean_accuracy",
                       "mean_ci_low": "ci_low", "mean_ci_high": "ci_high", "pass_at_k": "pass_at_k",
                       "pass_all_k": "pass_all_k", "consistency": "consistency", "per_capsule": "per_capsule"}


@dataclass
class ReportData:
    """Everything the site shows, as pandas tables. One row per run / task / answer."""

    runs: pd.DataFrame
    tasks: pd.DataFrame
    answers: pd.DataFrame

    def run_ids(self) -> list[str]:
        return list(self.runs["id"])


def slug(text: str) -> str:
    """A file name made from any string: safe characters plus a short hash, so two names never collide."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:60] or "x"
    return f"{safe}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def wilson_interval(successes: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval for a proportion; it stays inside [0, 1] for small n."""
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + Z_95**2 / n
    centre = (p + Z_95**2 / (2 * n)) / denom
    half = Z_95 * math.sqrt(p * (1 - p) / n + Z_95**2 / (4 * n * n)) / denom
    # At 0 or n successes the bound is exact; rounding must not leave it a hair off.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


# ------------------------------------------------------------------ loading

def load_report_data(store: Store) -> ReportData:
    runs, tasks, answers = runs_frame(store), tasks_frame(store), answers_frame(store)
    aside_tasks, aside_answers = _set_aside_ids(store, runs)
    answers["set_aside"] = answers["id"].isin(aside_answers)
    answers["set_aside_reason"] = answers["id"].map(aside_answers).astype(object)
    tasks["set_aside"] = tasks["id"].isin(aside_tasks)
    tasks["verified_outcome"] = _verified_outcomes(tasks, answers[~answers["set_aside"]])
    tasks.loc[tasks["id"].isin(aside_tasks), "verified_outcome"] = SET_ASIDE
    tasks["cache_tokens"] = tasks["cache_creation_input_tokens"] + tasks["cache_read_input_tokens"]
    tasks["tokens"] = token_count(tasks)
    runs = _summarise_runs(store, runs, tasks, answers)
    # report-cli: one display name per model on every page and export, never a local path.
    runs["model"] = runs["model"].map(display_name)
    tasks["suite"] = _task_suites(runs, tasks)
    return ReportData(runs=runs, tasks=tasks, answers=answers)


def _set_aside_ids(store: Store, runs: pd.DataFrame) -> tuple[set[int], dict[int, str]]:
    """Ids of the tasks set aside, and of the answers set aside with the reason given
    (store/verification.py), over every run."""
    tasks: set[int] = set()
    answers: dict[int, str] = {}
    for run_id, config in zip(runs["id"], runs["config_json"]):
        found = run_verification(store, run_id, config)
        tasks |= found.set_aside_task_ids
        answers.update(found.set_aside_reasons)
    return tasks, answers


def token_count(rows: pd.DataFrame) -> pd.Series:
    """What every page calls "Tokens": input plus output. Prompt-cache writes and reads are shown
    apart as `cache_tokens` (as HAL and Inspect do): in an agent loop cache reads outnumber fresh
    input many times over at a tenth of its price, and only some providers cache, so a sum with
    them would rank runs by how much context they re-read rather than by the work done."""
    return rows["input_tokens"] + rows["output_tokens"]


def _task_suites(runs: pd.DataFrame, tasks: pd.DataFrame) -> pd.Series:
    """Each task's benchmark label as recorded at planning; the run's suite when none was recorded."""
    recorded = {run_id: capsule_suites(json.loads(config or "{}"))
                for run_id, config in zip(runs["id"], runs["config_json"])}
    run_suite = dict(zip(runs["id"], runs["suite"]))
    return pd.Series([recorded.get(r, {}).get(c, run_suite.get(r, "")) for r, c in
                      zip(tasks["run_id"], tasks["capsule_id"])], index=tasks.index, dtype=object)


def _verified_outcomes(tasks: pd.DataFrame, answers: pd.DataFrame) -> pd.Series:
    """A graded task's outcome after review: any incorrect answer fails it, any open dispute leaves it disputed.

    Agrees with store/results.py: verified-correct iff graded and every answer's standing status is correct.
    """
    status = answers.assign(
        incorrect=answers["verified_status"].eq("incorrect"),
        disputed=answers["verified_status"].eq("disputed"),
    ).groupby("task_id")[["incorrect", "disputed"]].any()
    by_task = pd.Series(np.where(status["incorrect"], "incorrect",
                                 np.where(status["disputed"], "disputed", "correct")), index=status.index)
    graded = tasks["outcome"].isin(GRADED_OUTCOMES) & tasks["status"].eq(TASK_DONE)
    recomputed = tasks["id"].map(by_task).astype(object).fillna("incorrect")  # graded, no answers: not correct
    return recomputed.where(graded, tasks["outcome"]).astype(object).fillna("pending")


def _summarise_runs(store: Store, runs: pd.DataFrame, tasks: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    """Add accuracy, intervals, spread, outcome counts, cost, tokens and time to every run row."""
    runs = runs.copy()
    done = tasks[tasks["status"].eq(TASK_DONE)]
    counted = done[~done["outcome"].eq(Outcome.SKIPPED.value)]
    grouped = counted.groupby("run_id")
    totals = pd.DataFrame({
        "cost_known_usd": grouped["cost_usd"].sum(min_count=1),
        "cost_unknown_tasks": grouped["cost_usd"].agg(lambda s: int(s.isna().sum())),
        "input_tokens": grouped["input_tokens"].sum(),
        "output_tokens": grouped["output_tokens"].sum(),
        "cache_tokens": grouped["cache_creation_input_tokens"].sum() + grouped["cache_read_input_tokens"].sum(),
    })
    outcome_counts = done.pivot_table(index="run_id", columns="outcome", values="id", aggfunc="count", fill_value=0)
    outcome_counts = outcome_counts.reindex(columns=OUTCOMES, fill_value=0).add_prefix("n_")
    pending = tasks[~tasks["status"].eq(TASK_DONE)].groupby("run_id").size().rename("n_pending")
    runs = runs.join(totals, on="id").join(outcome_counts, on="id").join(pending, on="id")
    count_cols = ["input_tokens", "output_tokens", "cache_tokens", "cost_unknown_tasks", "n_pending"]
    count_cols += list(outcome_counts.columns)
    runs[count_cols] = runs[count_cols].fillna(0).astype(int)

    # Accuracy, disputes and cost come from results.run_summary: the CLI prints the same numbers.
    summaries = {run_id: run_summary(store, run_id) for run_id in runs["id"]}
    for column, attribute in (("tasks", "scored"), ("auto_correct", "correct"), ("verified_correct", "verified_correct"),
                              ("auto_accuracy", "accuracy"), ("verified_accuracy", "verified_accuracy"),
                              ("open_disputes", "open_disputes"), ("cost_usd", "cost_usd"),
                              ("agent_seconds", "seconds"), ("suite", "suite"), ("valid_tasks", "valid_tasks"),
                              ("set_aside_tasks", "set_aside_tasks"), ("set_asides", "set_asides"),
                              ("review_needed", "review_needed"), ("review_done", "review_done"),
                              ("review_coverage", "review_coverage"), ("verified_provisional", "verified_provisional")):
        runs[column] = [getattr(summaries[r], attribute) for r in runs["id"]]
    # Reliability over repeats (store/reliability.py), from the same summaries.
    for column, key in RELIABILITY_COLUMNS.items():
        runs[column] = [summaries[r].reliability.get(key) for r in runs["id"]]
    for column in RELIABILITY_COLUMNS:
        if column not in ("repeats_planned", "per_capsule"):
            runs[column] = runs[column].astype(float)
    runs["auto_accuracy"] = runs["auto_accuracy"].astype(float)
    runs["verified_accuracy"] = runs["verified_accuracy"].astype(float)
    # Checked reproduction (run --verify) and where correct answers came from, from the same summaries.
    runs["reproduced_correct"] = [summaries[r].reproduced_correct for r in runs["id"]]
    runs["reproduced_accuracy"] = pd.Series([summaries[r].reproduced_accuracy for r in runs["id"]],
                                            index=runs.index, dtype=float)
    runs["rerun_seconds"] = [summaries[r].rerun_seconds for r in runs["id"]]
    runs["correct_by_source"] = [summaries[r].source_shares() for r in runs["id"]]
    runs["cost_usd"] = runs["cost_usd"].astype(float)
    for kind, denominator in (("auto", "tasks"), ("verified", "valid_tasks")):
        bounds = [wilson_interval(k, n) for k, n in zip(runs[f"{kind}_correct"], runs[denominator])]
        runs[f"{kind}_ci_low"] = [b[0] for b in bounds]
        runs[f"{kind}_ci_high"] = [b[1] for b in bounds]
    spread = _repeat_spread(counted[~counted["verified_outcome"].eq(SET_ASIDE)])
    runs = runs.join(spread, on="id")
    runs["repeats"] = runs["repeats"].fillna(0).astype(int)

    # With some prices unknown the total is a lower bound: shown as "at least", never as exact.
    cost = runs["cost_usd"].fillna(runs["cost_known_usd"])
    runs["cost_is_lower_bound"] = runs["cost_usd"].isna() & runs["cost_known_usd"].notna()
    runs["cost_total"] = cost
    runs["cost_per_task"] = cost / runs["tasks"].where(runs["tasks"] > 0)
    runs["cost_per_solved"] = cost / runs["verified_correct"].where(runs["verified_correct"] > 0)
    runs["tokens"] = token_count(runs)
    created = pd.to_datetime(runs["created"], utc=True, format="ISO8601")
    finished = pd.to_datetime(runs["finished"], utc=True, format="ISO8601", errors="coerce")
    runs["wall_seconds"] = (finished - created).dt.total_seconds().fillna(runs["agent_seconds"])
    runs["created_at"] = created
    runs["date"] = created.dt.strftime("%Y-%m-%d %H:%M")
    runs["slug"] = runs["id"].map(slug)
    return runs


def _repeat_spread(tasks: pd.DataFrame) -> pd.DataFrame:
    """Verified accuracy of each repeat within a run, and how far the repeats lie apart."""
    per_repeat = (tasks.assign(ok=tasks["verified_outcome"].eq("correct"))
                  .groupby(["run_id", "repeat"])["ok"].mean())
    grouped = per_repeat.groupby(level="run_id")
    spread = pd.DataFrame({
        "repeats": grouped.size(),
        "repeat_min": grouped.min(),
        "repeat_max": grouped.max(),
        "repeat_std": grouped.std(ddof=1),
    })
    single = spread["repeats"] < 2
    spread.loc[single, ["repeat_min", "repeat_max", "repeat_std"]] = np.nan
    return spread


# ------------------------------------------------------------------ views

def suites(data: ReportData) -> list[str]:
    """Every suite with runs, in name order (the bundled suite, v1, v1.1 ... each apart)."""
    return sorted(data.runs["suite"].unique()) if len(data.runs) else []


def accuracy_series(data: ReportData) -> pd.DataFrame:
    """Runs oldest first, for charts of accuracy against date and against cost."""
    return data.runs.sort_values("created_at").reset_index(drop=True)


def capsule_matrix(data: ReportData, suite: str | None = None) -> tuple[list[str], pd.DataFrame]:
    """Capsules x models: verified pass / fail / disputed / other counts over every run of that model.

    Returns (models, rows); each row has the capsule id, a cell per model, and a flag when
    no model ever passes it (perhaps broken; a reference run's passes do not count) or some model both passes and fails it (flaky).
    With `suite`, only tasks of capsules of that suite (a capsule of v1 and of v1.1 stay apart).
    """
    tasks = data.tasks[data.tasks["status"].eq(TASK_DONE) & ~data.tasks["outcome"].eq(Outcome.SKIPPED.value)]
    if suite is not None:
        tasks = tasks[tasks["suite"].eq(suite)]
    tasks = tasks.merge(data.runs[["id", "model"]], left_on="run_id", right_on="id", suffixes=("", "_run"))
    kind = np.select(
        [tasks["verified_outcome"].eq("correct"), tasks["verified_outcome"].eq("disputed"),
         tasks["verified_outcome"].eq("incorrect")],
        ["pass", "disputed", "fail"], default="other")
    tasks = tasks.assign(kind=kind)
    counts = tasks.pivot_table(index=["capsule_id", "model"], columns="kind", values="id",
                               aggfunc="count", fill_value=0)
    counts = counts.reindex(columns=["pass", "fail", "disputed", "other"], fill_value=0)
    models = sorted(tasks["model"].unique())
    rows = []
    for capsule_id, block in counts.groupby(level="capsule_id"):
        cells = {}
        for (_, model), row in block.iterrows():
            cells[model] = {**{k: int(row[k]) for k in row.index}, "state": _cell_state(row)}
        passes = sum(c["pass"] for model, c in cells.items() if model not in NO_MODEL)  # the oracle is no agent
        flaky = any(c["state"] == "flaky" for c in cells.values())
        rows.append({"capsule_id": capsule_id, "cells": cells,
                     "flag": "never passes" if passes == 0 else ("flaky" if flaky else "")})
    return models, pd.DataFrame(rows, columns=["capsule_id", "cells", "flag"])


def _cell_state(row: pd.Series) -> str:
    """flaky: the same model both passes and fails the capsule (timeouts and errors are not verdicts)."""
    if row["pass"] and row["fail"]:
        return "flaky"
    if row["disputed"]:
        return "disputed"
    if row["pass"]:
        return "pass"
    if row["fail"]:
        return "fail"
    return "other"


def run_tasks(data: ReportData, answers_by_task: dict[int, list[dict[str, Any]]], run_id: str) -> list[dict[str, Any]]:
    """The tasks of one run, each with its answers (question, reported, references, verdicts)."""
    tasks = data.tasks[data.tasks["run_id"].eq(run_id)]
    records = records_of(tasks)
    for task in records:
        task["answers"] = answers_by_task.get(task["id"], [])
    return records


def answers_by_task(data: ReportData) -> dict[int, list[dict[str, Any]]]:
    """Answers grouped by task id once, so building every run page stays linear in the store size."""
    # Values and reasons without binary float noise; a reason's interval at the references' precision.
    places = data.answers["references_json"].map(reference_decimals)
    answers = data.answers.assign(
        reported=data.answers["reported_json"].map(lambda raw: tidy_text(_json_text(raw))),
        references=data.answers["references_json"].map(lambda raw: tidy_text(_json_text(raw))),
        reason=[tidy_text(reason, None if pd.isna(p) else int(p)) for reason, p in zip(data.answers["reason"], places)],
    )
    grouped: dict[int, list[dict[str, Any]]] = {}
    for record in records_of(answers):
        record["source_evidence"] = json.loads(record["source_evidence_json"]) if record["source_evidence_json"] else {}
        grouped.setdefault(record["task_id"], []).append(record)
    return grouped


def _json_text(raw: Any) -> str | None:
    """A stored JSON value as compact text for display (None when not reported)."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return None
    try:
        return json.dumps(json.loads(raw), ensure_ascii=False)
    except (TypeError, ValueError):
        return str(raw)


def records_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as plain dicts with NaN turned into None, for templates and JSON."""
    out = []
    for record in frame.to_dict("records"):
        out.append({k: (None if _missing(v) else _plain(v)) for k, v in record.items()})
    return out


def _missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _plain(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
