"""The task table of a run page, made to read at 500 tasks: one short row per task, sortable and
filterable without any script, and one page per task for its questions, evidence, flags and verdicts.

Pages run no script (their policy is `script-src 'none'`), so the table sorts and filters with CSS
alone: each row carries its rank under every sort key as a CSS variable (`--by-cost: 12`) and its
kind as a data attribute; radio buttons above the table pick the key or the kind (site.css, "run page
task table"). Every rank and count is computed here, so templates only lay them out.
"""

from __future__ import annotations

from typing import Any

# Sort keys a reader picks from: key -> (label, task field). Capsule order is the rows' own order.
SORT_KEYS = {"verified": ("Verified", "verified_outcome"), "cost": ("Cost", "cost_usd"),
             "time": ("Time", "seconds"), "tokens": ("Tokens", "tokens"), "steps": ("Steps", "steps")}
# Filters by the task's verified outcome; every outcome that is not graded falls under "failed".
FILTER_KINDS = {"correct": "correct", "incorrect": "incorrect", "disputed": "disputed", "set_aside": "set aside",
                "failed": "not graded (error, timeout, no report...)"}
# Order of verified outcomes when sorting by them: the ones a reader must look at first.
VERIFIED_ORDER = {"disputed": 0, "incorrect": 1, "correct": 3, "set_aside": 4}


def task_page_path(run_slug: str, task_id: int) -> str:
    """Where a task's page lives in the site, from its root."""
    return f"runs/{run_slug}/{task_id}.html"


def prepare_tasks(tasks: list[dict[str, Any]], run_slug: str) -> dict[str, int]:
    """Give every task its page link, kind, flag, question tally and sort ranks; returns tasks per kind."""
    for key, (_, field) in SORT_KEYS.items():
        values = [_sort_value(key, task.get(field)) for task in tasks]
        order = sorted(range(len(tasks)), key=lambda i: (values[i] is None, values[i] if values[i] is not None else 0,
                                                         i))
        for rank, index in enumerate(order):
            tasks[index].setdefault("sort_ranks", {})[key] = rank
    per_kind = {kind: 0 for kind in FILTER_KINDS}
    for task in tasks:
        task["page_href"] = f"{run_slug}/{task['id']}.html"  # relative to the run page in runs/
        task["kind"] = task["verified_outcome"] if task["verified_outcome"] in FILTER_KINDS else "failed"
        per_kind[task["kind"]] += 1
        diagnosis = task.get("diagnosis") or {}
        task["flagged"] = bool(diagnosis.get("flags"))
        task["answers_correct"] = sum(1 for a in task["answers"] if a["verified_status"] == "correct"
                                      and not a["set_aside"])
        task["answers_counted"] = sum(1 for a in task["answers"] if not a["set_aside"])
    return per_kind


def _sort_value(key: str, value: Any) -> float | None:
    if key == "verified":
        return float(VERIFIED_ORDER.get(str(value), 2))  # not graded sits between incorrect and correct
    return None if value is None else float(value)
