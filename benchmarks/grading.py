"""How fast is grading? Ours against upstream's formula written plainly, on the same answers.

    python benchmarks/grading.py [--tasks core_train.json] [--answers 100000]

Builds --answers (question, reported value) pairs from CORE-Bench task JSON: mostly reference
values, plus rounded numbers, percent strings, 'N/A', None, lists and case changes. It then
grades them twice: with graders/corebench (the official rule, intervals cached per question)
and with upstream's formula as upstream writes it, recomputing numpy mean, sd and the scipy t
quantile for every answer. It prints answers per second for both, the ratio, and checks that
both reached the same verdict on every answer.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import t as student_t

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from corebench_runner.capsules.plugins import load_plugin  # noqa: E402
from corebench_runner.grading.tasks_json import load_tasks  # noqa: E402

DEFAULT_TASKS = Path("/work/shared/corebench/core_train.json")


def variants(value: Any) -> list[Any]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [value, value, value, round(value, 2), f"{value}%", str(value), "N/A", None, [value], value * 100]
    if isinstance(value, str):
        return [value, value, value.lower(), value.upper(), f" {value}.", None, 0.5]
    return [value, value, None, "N/A"]


def build_answers(path: Path, count: int, seed: int = 0) -> list[tuple[Any, Any]]:
    questions = [q for task in load_tasks(path).values() for q in task.questions]
    rng = random.Random(seed)
    pool = [(q, v) for q in questions for v in variants(q.runs[0])]
    return [rng.choice(pool) for _ in range(count)]


def plain_upstream(runs: tuple, reported: Any) -> bool:
    """Upstream's rule for one answer, recomputed from scratch as upstream does."""
    first = runs[0]
    try:
        if "%" in reported:
            reported = reported.replace("%", "")
        reported = float(reported)
    except Exception:  # upstream keeps the value as it is
        pass
    try:
        if isinstance(first, (int, float)):
            n = len(runs)
            mean, sd = np.mean(runs), np.std(runs, ddof=1)
            half = student_t.ppf(0.975, n - 1) * sd * math.sqrt(1 + 1 / n)
            return bool(mean - half <= reported <= mean + half)
        if isinstance(first, list):
            return reported == first
        return str(reported).lower() == str(first).lower()
    except Exception:  # a value upstream cannot compare never counts as correct
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=Path, default=DEFAULT_TASKS, help="CORE-Bench task JSON")
    parser.add_argument("--answers", type=int, default=100_000, help="how many answers to grade")
    args = parser.parse_args()
    if not args.tasks.is_file():
        sys.exit(f"--tasks {args.tasks}: no such file; pass a CORE-Bench task JSON file")
    answers = build_answers(args.tasks, args.answers)
    grader = load_plugin("graders", "corebench")

    start = time.perf_counter()
    ours = [grader.grade(q, v).status.value == "correct" for q, v in answers]
    ours_seconds = time.perf_counter() - start

    start = time.perf_counter()
    theirs = [plain_upstream(q.runs, v) for q, v in answers]
    plain_seconds = time.perf_counter() - start

    agree = sum(a == b for a, b in zip(ours, theirs))
    ours_rate, plain_rate = len(answers) / ours_seconds, len(answers) / plain_seconds
    print(json.dumps({"answers": len(answers), "tasks_file": str(args.tasks)}))
    print(f"graders/corebench (ours):          {ours_rate:>12,.0f} answers/s  ({ours_seconds:.2f} s)")
    print(f"upstream formula, plain numpy:     {plain_rate:>12,.0f} answers/s  ({plain_seconds:.2f} s)")
    print(f"ratio ours / upstream:             {ours_rate / plain_rate:>12.2f}x")
    print(f"same verdict:                      {agree:,} of {len(answers):,}")
    if agree != len(answers):
        sys.exit("verdicts differ: the official grader no longer matches upstream's formula")


if __name__ == "__main__":
    main()
