"""Results for other tools: CSV and JSON tables, and one run in HAL's upload format.

HAL (princeton-pli/hal-harness) uploads a `<run_id>_UPLOAD.json` per run. We write the subset
that describes a CORE-Bench run (docs/reports.md lists the fields): config, results (accuracy,
written/vision accuracy, successful_tasks, failed_tasks, total_cost, latencies),
raw_eval_results (per capsule: correct/total written and vision questions), raw_logging_results
(one record per model call from our usage table), total_usage, total_cost, wall_clock_times,
task_step_counts. HAL grades with the official rule, so its numbers use the automatic verdicts,
not reviews; the verified variant (`--format hal-verified`, named so in its agent name and config)
applies people's verdicts and leaves set-aside items out. HAL has one result per capsule, so only
repeat 0 of a run goes in. Our measures beyond accuracy (calibration, efficiency by phase) go under
`corebench_measures`, a key HAL does not know and keeps; `corebench export`'s csv and json carry
them too (docs/measures.md).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from corebench_runner.models.names import display_name, public_config
from corebench_runner.report.data import ReportData, records_of
from corebench_runner.report.efficiency import RunEfficiency, run_efficiency
from corebench_runner.report.measures_export import (
    TASK_EFFICIENCY_FIELDS,
    calibration_fields,
    run_efficiency_fields,
    task_efficiency_fields,
)
from corebench_runner.store.calibration import Calibration, run_calibration
from corebench_runner.store.database import Store
from corebench_runner.store.exports import first_repeat_usage, first_repeat_verdicts, question_counts
from corebench_runner.store.frames import standing_reviews_frame
from corebench_runner.store.results import RunSummary, run_summary, task_details
from corebench_runner.store.verification import PERSON_SOURCES

TASK_COLUMNS = ["run_id", "run_created", "suite", "model", "scaffold", "level", "grader", "capsule_id", "repeat",
                "task_id", "status", "outcome", "verified_outcome", "set_aside", "capsule_share", "error", "seconds", "steps",
                "input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "cost_usd"]
RUN_COLUMNS = ["id", "created", "finished", "status", "suite", "model", "scaffold", "scaffold_version", "level",
               "grader", "tasks", "auto_correct", "auto_accuracy", "auto_ci_low", "auto_ci_high", "verified_correct",
               "verified_accuracy", "verified_ci_low", "verified_ci_high", "repeats", "repeat_min", "repeat_max",
               "repeat_std", "repeats_planned", "mean_accuracy", "mean_ci_low", "mean_ci_high", "pass_at_k",
               "pass_all_k", "consistency", "open_disputes", "cost_usd", "cost_total", "cost_is_lower_bound", "cost_per_task",
               "cost_per_solved", "input_tokens", "output_tokens", "cache_tokens", "wall_seconds", "agent_seconds",
               "reproduced_correct", "reproduced_accuracy", "rerun_seconds"]


Measures = dict[str, tuple[Calibration, RunEfficiency]]  # per run id


def run_measures(store: Store, data: ReportData, run_id: str | None = None) -> Measures:
    """Each exported run's calibration and efficiency (read from its transcripts), for the exports."""
    ids = [run_id] if run_id is not None else list(data.runs["id"])
    return {rid: (run_calibration(store, rid), run_efficiency(store, rid)) for rid in ids}


def task_table(data: ReportData, run_id: str | None = None, measures: Measures | None = None) -> pd.DataFrame:
    """One row per task with its run's model, scaffold and level, its suite, and the share of its
    capsule's repeats in that run that were solved (capsule_share); with `measures`, its efficiency
    breakdown too (TASK_EFFICIENCY_FIELDS)."""
    runs = data.runs.rename(columns={"id": "run_id", "created": "run_created"})
    tasks = data.tasks.rename(columns={"id": "task_id"})
    if run_id is not None:
        tasks = tasks[tasks["run_id"].eq(run_id)]
    shares = {(run, share["capsule_id"]): share["share"]
              for run, per_capsule in zip(data.runs["id"], data.runs["per_capsule"]) for share in per_capsule or []}
    tasks = tasks.assign(capsule_share=[shares.get(key) for key in zip(tasks["run_id"], tasks["capsule_id"])])
    merged = tasks.merge(runs[["run_id", "run_created", "model", "scaffold", "level", "grader"]], on="run_id")
    merged = merged.sort_values(["run_created", "run_id", "capsule_id", "repeat"])[TASK_COLUMNS]
    if measures is None:
        return merged
    by_task = {t.task_id: t for _, efficiency in measures.values() for t in efficiency.tasks}
    fields = pd.DataFrame([task_efficiency_fields(by_task.get(task_id)) for task_id in merged["task_id"]],
                          columns=TASK_EFFICIENCY_FIELDS, index=merged.index)
    return pd.concat([merged, fields], axis=1)


QUESTION_COLUMNS = ["run_id", "run_created", "suite", "model", "scaffold", "level", "grader", "capsule_id", "repeat",
                    "task_id", "answer_id", "outcome", "verified_outcome", "question", "vision", "reported", "references",
                    "automatic_verdict", "verified_verdict", "reviewer", "reviewed_at", "review_reason",
                    "task_cost_usd", "task_seconds", "source", "source_evidence", "reproduced", "confidence",
                    "set_aside", "set_aside_reason"]


def question_table(data: ReportData, store: Store, run_id: str | None = None) -> pd.DataFrame:
    """One row per question of every task: the run's model, scaffold and suite, the automatic and the
    standing verdict, who gave the standing verdict, and the task's cost and time (for pandas users)."""
    answers = data.answers.rename(columns={"id": "answer_id", "status": "automatic_verdict", "verified_status": "verified_verdict",
                                           "reported_json": "reported", "references_json": "references",
                                           "source_evidence_json": "source_evidence"})
    answers = answers.merge(standing_reviews_frame(store), on="answer_id", how="left")
    tasks = (data.tasks.rename(columns={"id": "task_id", "cost_usd": "task_cost_usd", "seconds": "task_seconds"})
             .drop(columns=["set_aside"]))  # the answer's own mark: its question or its whole task set aside
    if run_id is not None:
        tasks = tasks[tasks["run_id"].eq(run_id)]
    runs = data.runs.rename(columns={"id": "run_id", "created": "run_created"})
    merged = (answers.merge(tasks, on="task_id")
              .merge(runs[["run_id", "run_created", "model", "scaffold", "level", "grader"]], on="run_id"))
    merged["vision"] = merged["vision"].astype(bool)
    merged = merged.sort_values(["run_created", "run_id", "capsule_id", "repeat", "answer_id"])
    return merged[QUESTION_COLUMNS].reset_index(drop=True)


def write_parquet(frame: pd.DataFrame, out: Path) -> None:
    """A Parquet file through pandas; the engine (fastparquet or pyarrow) is an optional extra."""
    try:
        frame.to_parquet(out, index=False)
    except ImportError:
        from corebench_runner.errors import UserError

        raise UserError("export --format parquet needs a Parquet engine, which is not installed: "
                        "pip install 'corebench-runner[parquet]' (or pip install fastparquet)") from None


def run_table(data: ReportData, run_id: str | None = None, per_capsule: bool = False) -> pd.DataFrame:
    runs = data.runs if run_id is None else data.runs[data.runs["id"].eq(run_id)]
    return runs[RUN_COLUMNS + (["per_capsule"] if per_capsule else [])]


def results_json(data: ReportData, run_id: str | None = None, measures: Measures | None = None) -> dict[str, Any]:
    """Runs and tasks; with `measures`, each run's calibration and efficiency totals, each task's breakdown."""
    runs = records_of(run_table(data, run_id, per_capsule=True))
    if measures is not None:
        for run in runs:
            if run["id"] in measures:
                calibration, efficiency = measures[run["id"]]
                run["calibration"] = calibration_fields(calibration)
                run["efficiency"] = run_efficiency_fields(efficiency)
    return {"runs": runs, "tasks": records_of(task_table(data, run_id, measures))}


def write_results(data: ReportData, out: Path) -> None:
    """results.csv (one row per task) and results.json (runs and tasks) beside the site's pages."""
    task_table(data).to_csv(out / "results.csv", index=False)
    (out / "results.json").write_text(json.dumps(results_json(data), indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")


# ------------------------------------------------------------------ HAL

def hal_upload(store: Store, run_id: str, verified: bool = False) -> dict[str, Any]:
    """One run as HAL's `<run_id>_UPLOAD.json` (the subset documented in docs/reports.md).

    verified=True is the verified variant, named so in its agent name and config: people's verdicts
    stand in for the automatic ones, and set-aside tasks and questions are left out."""
    summary = run_summary(store, run_id)
    tasks = [t for t in task_details(store, summary.id) if t.repeat == 0 and t.status == "done"
             and t.outcome != "skipped" and not (verified and t.set_aside)]
    raw_eval: dict[str, Any] = {}
    successful, failed = [], []
    for task in tasks:
        counted = [q for q in task.questions if not (verified and q.set_aside)]
        written = [q for q in counted if not q.vision]
        vision = [q for q in counted if q.vision]
        # HAL counts a capsule's questions even when the agent reported nothing.
        total_written, total_vision = (len(written), len(vision)) if task.questions else \
            _question_counts(store, task.capsule_id)
        standing = (lambda q: q.verified_status) if verified else (lambda q: q.status)
        entry = {
            "correct_written_answers": sum(standing(q) == "correct" for q in written),
            "correct_vision_answers": sum(standing(q) == "correct" for q in vision),
            "total_written_questions": total_written,
            "total_vision_questions": total_vision,
        }
        if task.outcome not in ("correct", "incorrect", "disputed"):
            entry["error"] = f"{task.outcome}: {task.error}" if task.error else str(task.outcome)
        entry["answer_sources"] = {q.question: {"source": q.source, "source_evidence": q.source_evidence,
                                                "reproduced": q.reproduced} for q in task.questions}
        if verified:
            entry["verdicts"] = {q.question: {"automatic": q.status, "verified": q.verified_status}
                                 for q in counted if q.verified_status != q.status}
        raw_eval[task.capsule_id] = entry
        solved = task.verified_correct if verified else task.outcome == "correct"
        (successful if solved else failed).append(task.capsule_id)
    written_tasks = [e for e in raw_eval.values() if e["total_written_questions"]]
    vision_tasks = [e for e in raw_eval.values() if e["total_vision_questions"]]
    usage_rows, total_usage = _usage(store, summary.id)
    costs = [t.cost_usd for t in tasks]
    total_cost = None if any(c is None for c in costs) else round(sum(costs), 6)
    model = display_name(summary.model)
    upload = {
        "config": {
            "agent_name": f"{summary.scaffold} ({model})" + (" [verified by people's verdicts]" if verified else ""),
            "verdicts": VERIFIED_VARIANT if verified else "automatic (the grader's; reviews not applied)",
            "benchmark_name": f"corebench_{summary.level}",
            "date": datetime.fromisoformat(summary.created).strftime("%Y-%m-%d"),
            "run_id": summary.id,
            "agent_args": {"model_name": model, "scaffold": summary.scaffold,
                           "scaffold_version": summary.scaffold_version, "grader": summary.grader,
                           **public_config(summary.config)},
            "run_command": f"corebench run --model {model} --scaffold {summary.scaffold} "
                           f"--level {summary.level}",
            "prompt_sensitivity": False,
        },
        "results": {
            "accuracy": len(successful) / len(raw_eval) if raw_eval else 0,
            "written_accuracy": _share(written_tasks, "written"),
            "vision_accuracy": _share(vision_tasks, "vision"),
            "successful_tasks": successful,
            "failed_tasks": failed,
            "total_cost": total_cost,
            "latencies": {t.capsule_id: {"total_time": t.seconds} for t in tasks},
            "verification": verification_json(summary),
            # Checked reproduction (run --verify): ours, not HAL's; HAL keeps fields it does not know.
            "reproduced_accuracy": summary.reproduced_accuracy,
        },
        "raw_eval_results": raw_eval,
        "raw_logging_results": usage_rows,
        "total_usage": total_usage,
        "total_cost": total_cost,
        "wall_clock_times": {t.capsule_id: t.seconds for t in tasks},
        "task_step_counts": {t.capsule_id: t.steps for t in tasks},
    }
    if verified:
        upload["people_verdicts"] = _people_verdicts(store, summary.id)
    upload["corebench_measures"] = hal_measures(store, summary.id, {t.task_id for t in tasks})
    return upload


def hal_measures(store: Store, run_id: str, task_ids: set[int]) -> dict[str, Any]:
    """Ours, not HAL's (HAL keeps fields it does not know): the run's calibration and efficiency totals over
    every repeat, and the breakdown of each capsule whose task is in the upload."""
    efficiency = run_efficiency(store, run_id)
    return {"calibration": calibration_fields(run_calibration(store, run_id)),
            "efficiency": run_efficiency_fields(efficiency),
            "task_efficiency": {t.capsule_id: task_efficiency_fields(t) for t in efficiency.tasks
                                if t.task_id in task_ids}}


VERIFIED_VARIANT = "verified: people's verdicts applied, set-aside tasks and questions left out"


def _people_verdicts(store: Store, run_id: str) -> list[dict[str, Any]]:
    """Every verdict a person gave on repeat 0 of the run (review, import, accepted triage), oldest first."""
    rows = first_repeat_verdicts(store, run_id, PERSON_SOURCES)
    return [{"capsule_id": row["capsule_id"], "question": row["question"], "from": row["old_status"],
             "to": row["new_status"], "reviewer": row["reviewer"], "created": row["created"],
             "reason": row["reason"], "source": row["source"]} for row in rows]


def verification_json(summary: RunSummary) -> dict[str, Any]:
    """Both numbers over the whole run (every repeat), the review coverage and the set-aside items with reasons."""
    return {
        "automatic_accuracy": summary.accuracy, "automatic_correct": summary.correct, "scored_tasks": summary.scored,
        "verified_accuracy": summary.verified_accuracy, "verified_correct": summary.verified_correct,
        "valid_tasks": summary.valid_tasks, "set_aside_tasks": summary.set_aside_tasks,
        "review_needed": summary.review_needed, "review_done": summary.review_done,
        "review_coverage": summary.review_coverage, "provisional": summary.verified_provisional,
        "set_asides": summary.set_asides,
    }


def _question_counts(store: Store, capsule_id: str) -> tuple[int, int]:
    """(written, vision) questions of a capsule, from any graded task of it in the store; (0, 0) if none."""
    return question_counts(store, capsule_id)


def _share(entries: list[dict[str, Any]], kind: str) -> float:
    """HAL's per-kind accuracy: tasks whose questions of that kind are all correct."""
    if not entries:
        return 0
    done = sum(e[f"correct_{kind}_answers"] == e[f"total_{kind}_questions"] for e in entries)
    return done / len(entries)


def _usage(store: Store, run_id: str) -> tuple[list[dict[str, Any]], dict[str, dict[str, int]]]:
    rows = first_repeat_usage(store, run_id)
    logging, totals = [], {}
    for row in rows:
        usage = {"prompt_tokens": row["input_tokens"], "completion_tokens": row["output_tokens"],
                 "cache_creation_input_tokens": row["cache_creation_input_tokens"],
                 "cache_read_input_tokens": row["cache_read_input_tokens"]}
        logging.append({"weave_task_id": row["capsule_id"], "created_timestamp": row["created"],
                        "summary": {"usage": {display_name(row["model"]): usage}}, "cost_usd": row["cost_usd"]})
        model_total = totals.setdefault(display_name(row["model"]), {k: 0 for k in usage})
        for key, value in usage.items():
            model_total[key] += value or 0
    return logging, totals
