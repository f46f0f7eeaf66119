"""How long the engine takes around a task, as a ratio to a bare `docker run --rm IMAGE true`.

    .venv/bin/python benchmarks/task_latency.py [--rounds 5]

The scenario: one scripted core-agent task (`--model scripted:FILE`, the real anthropic SDK over
HTTP to the local Messages server) whose first step writes report.json with one bash call and
whose second submits; warm images. Each round runs, one after the other on the same image:
`docker run --rm IMAGE true` once and 4 at a time (the floors), then `corebench run` as a user
types it for 1 task and for 4 tasks at concurrency 4. Phase times come from the engine's trace
($COREBENCH_TRACE, corebench_runner/running/tracing.py), not from the store's whole-second columns.
Prints medians over the rounds:

- start-to-score: the worker starts the task -> its answers are graded; goal <= 2.5x the floor
  for 1 task, and for the slowest of 4 tasks <= 2x the floor of 4 parallel `docker run`s;
- process wall of the whole `corebench run` for 1 task; goal <= 10x the floor;
- the breakdown by phase (each task's median; the sandbox start, which hands the workspace in
  before the container starts, overlaps the agent's first model call; cleanup runs after the
  task is recorded).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tomli_w

from corebench_runner.images import toolbox_image
from corebench_runner.running.tracing import TRACE_ENV

QUESTION = "Report the number of rows in data/values.csv."
CAPSULE = "latency"
GOALS = {"1 task start-to-score": 2.5, "4 tasks slowest start-to-score": 2.0, "1 task process wall": 10.0}
PHASES = ("prepare", "sandbox_start", "agent", "report_read", "results_copy", "grading", "recording",
          "cleanup")


def make_suite(root: Path) -> None:
    folder = root / "capsules" / CAPSULE
    for sub in ("code", "data", "results", "environment"):
        (folder / sub).mkdir(parents=True)
    (folder / "data" / "values.csv").write_text("x\n1\n2\n3\n")
    (folder / "environment" / "Dockerfile").write_text("FROM corebench/python:bookworm\n")
    (folder / "capsule.toml").write_text(tomli_w.dumps({
        "id": CAPSULE, "title": "latency benchmark capsule", "field": "Computer Science", "language": "Python",
        "task_prompt": "Count the rows of data/values.csv.", "resources": {"cpus": 0.5, "memory": "256m"},
        "questions": [{"text": QUESTION, "runs": [3, 3, 3]}]}))


def make_script(path: Path) -> None:
    report = json.dumps({QUESTION: 3})
    path.write_text(json.dumps({"model": "scripted", "steps": [
        {"content": [{"type": "tool_use", "name": "bash",
                      "input": {"command": f"echo '{report}' > /workspace/report.json"}}]},
        {"content": [{"type": "tool_use", "name": "submit", "input": {"answers": {QUESTION: 3}}}]},
    ]}))


def docker_floor(image: str, parallel: int) -> float:
    """Wall seconds of `parallel` concurrent `docker run --rm IMAGE true`."""
    started = time.monotonic()
    procs = [subprocess.Popen(["docker", "run", "--rm", image, "true"]) for _ in range(parallel)]
    if any(proc.wait() != 0 for proc in procs):
        raise SystemExit(f"docker run --rm {image} true failed")
    return time.monotonic() - started


def corebench_command() -> list[str]:
    script = Path(sys.executable).parent / "corebench"
    return [str(script)] if script.exists() else [sys.executable, "-c", "from corebench_runner.cli import main; main()"]


def timed_run(work: Path, suite: Path, script: Path, tasks: int) -> tuple[float, dict[int, dict[str, float]]]:
    """(process wall seconds, {task: {phase: seconds, plus "start_to_score"}}) of one `corebench run`."""
    trace = work / "trace.jsonl"
    trace.unlink(missing_ok=True)
    store = work / "store"
    shutil.rmtree(store, ignore_errors=True)
    env = dict(os.environ, **{TRACE_ENV: str(trace)})
    command = corebench_command() + ["--suite", str(suite), "run", "--model", f"scripted:{script}",
                                     "--scaffold", "core-agent", "--capsules", CAPSULE, "--level", "hard",
                                     "--repeats", str(tasks), "--concurrency", "4", "--quiet",
                                     "--store", str(store / "results.sqlite")]
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"corebench run failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    conn = sqlite3.connect(store / "results.sqlite")
    outcomes = [row[0] for row in conn.execute("SELECT outcome FROM tasks")]
    conn.close()
    if outcomes != ["correct"] * tasks:  # a fast run that graded nothing would prove nothing
        raise SystemExit(f"benchmark run went wrong: outcomes {outcomes}")
    return wall, phases_of(trace)


def phases_of(trace: Path) -> dict[int, dict[str, float]]:
    events: dict[int, list[dict]] = {}
    for line in trace.read_text().splitlines():
        event = json.loads(line)
        events.setdefault(event["task"], []).append(event)
    tasks = {}
    for task, rows in events.items():
        spans = {row["phase"]: row for row in rows}
        times = {name: row["end"] - row["start"] for name, row in spans.items() if name != "started"}
        if "started" not in spans or "grading" not in spans:
            raise SystemExit(f"task {task} left no complete trace: {sorted(spans)}")
        times["start_to_score"] = spans["grading"]["end"] - spans["started"]["start"]
        times["start_to_recorded"] = spans["recording"]["end"] - spans["started"]["start"]
        tasks[task] = times
    return tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    image = toolbox_image()
    floor1, floor4, wall1, score1, slowest4, phases, phases4 = [], [], [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_suite(work / "suite")
        make_script(work / "session.json")
        docker_floor(image, 1)
        timed_run(work, work / "suite", work / "session.json", 1)  # warm-up: page cache, image lookups
        for _ in range(args.rounds):
            floor1.append(docker_floor(image, 1))
            floor4.append(docker_floor(image, 4))
            wall, tasks = timed_run(work, work / "suite", work / "session.json", 1)
            wall1.append(wall)
            score1.append(next(iter(tasks.values()))["start_to_score"])
            phases.extend(tasks.values())
            _, tasks4 = timed_run(work, work / "suite", work / "session.json", 4)
            slowest4.append(max(t["start_to_score"] for t in tasks4.values()))
            phases4.extend(tasks4.values())
    median = statistics.median
    f1, f4 = median(floor1), median(floor4)
    print(f"image {image}; medians of {args.rounds} rounds; load average {os.getloadavg()[0]:.2f}")
    print(f"floor: docker run --rm IMAGE true: {f1:.3f}s alone, {f4:.3f}s for 4 in parallel")
    rows = [("1 task start-to-score", median(score1), f1), ("4 tasks slowest start-to-score", median(slowest4), f4),
            ("1 task process wall", median(wall1), f1)]
    for label, seconds, floor in rows:
        ratio = seconds / floor
        verdict = "MET" if ratio <= GOALS[label] else "NOT MET"
        print(f"{label:>32}: {seconds:6.3f}s = {ratio:5.2f}x floor (goal <= {GOALS[label]:g}x: {verdict})")
    print(f"phases, median seconds per task:{'1 task':>10}{'4 tasks':>10}")
    for name in PHASES + ("start_to_score", "start_to_recorded"):
        cells = [[task[name] for task in runs if name in task] for runs in (phases, phases4)]
        print(f"{name:>32}:" + "".join(f"{median(values):9.3f}s" if values else f"{'-':>10}" for values in cells))


if __name__ == "__main__":
    main()
