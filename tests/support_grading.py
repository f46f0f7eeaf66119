"""Grading test helpers: CORE-Bench's real training tasks, upstream's rule restated, answer variety.

`upstream_counts` restates hal-harness's CoreBench.__eval_result_json in the plainest terms
(numpy mean, ddof=1 sd, scipy t quantile, the report walked in its own key order, any
exception ending the walk) so that our grader can be checked against it on thousands of
answers. It is deliberately written without any of our code.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import t as student_t

CORE_TRAIN = Path("/work/shared/corebench/core_train.json")


def train_tasks() -> list[dict[str, Any]]:
    return json.loads(CORE_TRAIN.read_text())


def task_by_id(capsule_id: str) -> dict[str, Any]:
    return next(t for t in train_tasks() if t["capsule_id"] == capsule_id)


def _kind(value: Any) -> str | None:
    if isinstance(value, (int, float)):
        return "numeric"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    return None


def upstream_counts(gt_result: list[dict[str, Any]], reported: dict[str, Any]) -> dict[str, int]:
    """Upstream's per-task counts for one report (the report is copied, never changed)."""
    first = gt_result[0]
    kinds = {k: _kind(v) for k, v in first.items() if _kind(v) is not None}
    totals = {"written": sum("fig" not in k for k in kinds), "vision": sum("fig" in k for k in kinds)}
    correct = {"written": 0, "vision": 0}
    report = dict(reported)
    for key in list(report):
        value = report[key]
        try:
            if "%" in value:
                value = value.replace("%", "")
            value = float(value)
        except Exception:
            pass
        report[key] = value
    try:
        n = len(gt_result)
        bounds = {}
        for key in (k for k, kind in kinds.items() if kind == "numeric"):
            values = [run[key] for run in gt_result]
            with np.errstate(all="ignore"):
                import warnings
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    mean, sd = np.mean(values), np.std(values, ddof=1)
            spread = student_t.ppf(0.975, n - 1) * sd * math.sqrt(1 + 1 / n)
            bounds[key] = (mean - spread, mean + spread)
        try:
            for key, value in report.items():
                kind = kinds.get(key)
                if kind == "numeric":
                    ok = bounds[key][0] <= value <= bounds[key][1]
                elif kind == "list":
                    ok = value == first[key]
                elif kind == "string":
                    ok = str(value).lower() == str(first[key]).lower()
                else:
                    continue
                if ok:
                    correct["vision" if "fig" in key else "written"] += 1
        except Exception:
            pass
    except Exception:
        pass
    return {"correct_written": correct["written"], "correct_vision": correct["vision"],
            "total_written": totals["written"], "total_vision": totals["vision"]}


def upstream_task_correct(counts: dict[str, int]) -> bool:
    return (counts["correct_written"] == counts["total_written"] and counts["correct_vision"] == counts["total_vision"]
            and counts["total_written"] + counts["total_vision"] > 0)


# ------------------------------------------------------------ answers of every kind

def _value_variants(value: Any, runs: list[Any], rng: random.Random) -> list[Any]:
    """What agents really write for one question: right, rounded, reformatted, wrong, broken."""
    odd = [None, "N/A", "", True, False, [], {"value": value}, "unknown"]
    if isinstance(value, bool):
        return [value, not value, 1, 0, "True", "true"] + odd
    if isinstance(value, (int, float)):
        mean = float(np.mean(runs))
        lo, hi = min(runs), max(runs)
        found = [value, mean, lo, hi, str(value), f"{value}%", f"{value} %", f"{value * 100}%", value * 100,
                 round(value, 2), round(value, 3), round(value, 1), str(round(value, 2)), [value], [value, value],
                 [str(value)], int(value), -value, value + (hi - lo) * rng.uniform(-3, 3), f"{value:,}",
                 f" {value} ", f"{value:e}", hi + abs(hi - lo) * 5 + 1e-9, True]
        return found + odd
    if isinstance(value, str):
        return [value, value.lower(), value.upper(), f" {value} ", f'"{value}"', f"{value}.", value + "%",
                value.replace(" ", "  "), [value], value[::-1], 0.5] + odd
    if isinstance(value, list):
        return [value, list(reversed(value)), [str(x) for x in value], json.dumps(value), value + value,
                value[:1]] + odd
    return [value] + odd


def answer_reports(task: dict[str, Any], rng: random.Random, count: int) -> list[dict[str, Any]]:
    """`count` reports for a task, mixing per-question variants, missing and extra keys, key order."""
    first = task["results"][0]
    options = {k: _value_variants(v, [r.get(k) for r in task["results"]], rng) for k, v in first.items()}
    reports = []
    for _ in range(count):
        report = {}
        for key, choices in options.items():
            roll = rng.random()
            if roll < 0.08:
                continue  # not reported
            if roll < 0.12:
                report[key.lower()] = choices[0]  # a near-miss key
                continue
            # Mostly right answers, so that whole tasks are often correct too.
            report[key] = choices[0] if roll < 0.55 else rng.choice(choices)
        if rng.random() < 0.2:
            report["an extra question nobody asked"] = rng.choice([1, "x", None])
        items = list(report.items())
        rng.shuffle(items)
        reports.append(dict(items))
    return reports
