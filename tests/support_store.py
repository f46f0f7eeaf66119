"""Build realistic results stores for tests, through the store's own write functions.

    store = open_store(tmp_path / "results.sqlite")
    run_id = add_run(store, [
        SampleTask("capsule-1", [QA("What is the test accuracy?", 0.93, [0.9312] * 3, "disputed",
                                    "rounded to 2 decimals")],
                   transcript=[bash_call("python train.py", "test accuracy: 0.9312")]),
    ])

Each task is planned, claimed and finished exactly as a run does it (create_run, claim_task,
finish_task), and its transcript, when given, is written as JSON under the store's
artifacts folder. `dispute_store(path)` makes the standard store used by the review and
report tests: one run of five tasks with three open disputes (see its docstring).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corebench_runner.records import Usage
from corebench_runner.store.database import (
    AnswerRecord,
    Store,
    TaskRecord,
    claim_task,
    create_run,
    finish_task,
    open_store,
)


@dataclass
class QA:
    """One question of a task with the automatic verdict it got."""

    question: str
    reported: Any
    references: list[Any]
    status: str  # correct | incorrect | disputed
    reason: str = ""
    present: bool = True  # False: the agent did not report this question


@dataclass
class SampleTask:
    capsule_id: str
    answers: list[QA]
    repeat: int = 0
    outcome: str | None = None  # default: derived from the answers like a grader would
    transcript: list[dict[str, Any]] | None = None
    cost_usd: float | None = 0.05
    produced: dict[str, bytes] | None = None  # files the task left in its results folder, by relative path


def bash_call(command: str, output: str, exit_code: int = 0) -> dict[str, Any]:
    """A transcript event for one bash tool call, in the scaffolds' shape."""
    return {"type": "tool_call", "name": "bash", "input": {"command": command}, "output": output,
            "exit_code": exit_code}


def model_call(text: str = "") -> dict[str, Any]:
    return {"type": "model_call", "text": text, "input_tokens": 1000, "output_tokens": 100}


def derived_outcome(answers: list[QA]) -> str:
    statuses = [a.status for a in answers]
    if "incorrect" in statuses:
        return "incorrect"
    return "disputed" if "disputed" in statuses else "correct"


def add_run(store: Store, tasks: list[SampleTask], *, run_id: str | None = None,
            model: str = "anthropic:claude-sonnet-4-6", scaffold: str = "core-agent", level: str = "hard",
            grader: str = "tolerant", benchmark: str | None = None) -> str:
    """Record a finished run holding `tasks`; returns its id. `benchmark` labels every capsule's suite."""
    run_id = run_id or uuid.uuid4().hex
    config: dict[str, Any] = {"repeats": 1}
    if benchmark is not None:
        config["benchmarks"] = {t.capsule_id: benchmark for t in tasks}
    create_run(store, run_id, model=model, scaffold=scaffold, scaffold_version="1", level=level, grader=grader,
               engine_version="test", host="test-host", config=config,
               tasks=[(t.capsule_id, t.repeat, "0" * 64) for t in tasks])
    for task in tasks:
        task_id = store.conn.execute("SELECT id FROM tasks WHERE run_id = ? AND capsule_id = ? AND repeat = ?",
                                     (run_id, task.capsule_id, task.repeat)).fetchone()[0]
        claim_task(store, task_id)
        transcript_path = None
        if task.transcript is not None:
            transcript_path = f"{run_id}/{task.capsule_id}-{task.repeat}/transcript.json"
            file = store.artifacts_dir / transcript_path
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(json.dumps(task.transcript), encoding="utf-8")
        produced_dir = None
        if task.produced is not None:
            produced_dir = f"{run_id}/{task.capsule_id}-{task.repeat}/produced"
            for name, data in task.produced.items():
                (store.artifacts_dir / produced_dir / name).parent.mkdir(parents=True, exist_ok=True)
                (store.artifacts_dir / produced_dir / name).write_bytes(data)
        finish_task(store, task_id, TaskRecord(
            outcome=task.outcome or derived_outcome(task.answers), model=model, seconds=60.0, steps=12,
            usage=Usage(input_tokens=20000, output_tokens=2000, cost_usd=task.cost_usd, calls=6),
            transcript_path=transcript_path, artifacts_dir=produced_dir,
            answers=[AnswerRecord(a.question, a.reported, a.present, list(a.references), "fig" in a.question.lower(),
                                  a.status, a.reason) for a in task.answers]))
    with store.transaction() as conn:
        conn.execute("UPDATE runs SET status = 'finished', finished = created WHERE id = ?", (run_id,))
    return run_id


ACCURACY_Q = "Report the test accuracy of the model."
LOSS_Q = "Report the final training loss."
BEST_Q = "Which optimizer gives the lowest validation error?"
FIG_Q = "From fig 2, report the peak value of the red curve."


def dispute_store(path: Path, run_id: str = "run-0001-dispute-sample") -> tuple[Store, str]:
    """The standard store: one run, five tasks, three open disputes.

    capsule-a  correct    (both answers correct)
    capsule-b  disputed   (accuracy 0.93 vs references 0.9312: rounded; loss correct)
    capsule-c  disputed   (optimizer "adam" vs "Adam W": a real disagreement) and a transcript
    capsule-d  incorrect  (wrong value) plus a disputed figure question
    capsule-e  timeout    (no answers; stays wrong whatever the reviews say)

    Automatic accuracy 1/5 = 20%. Settling b as correct and c as correct gives 3/5 = 60%.
    """
    store = open_store(path)
    tasks = [
        SampleTask("capsule-a", [QA(ACCURACY_Q, 0.81, [0.81, 0.81, 0.81], "correct", "inside the interval"),
                                 QA(LOSS_Q, 0.12, [0.12, 0.12, 0.12], "correct", "inside the interval")]),
        SampleTask("capsule-b", [QA(ACCURACY_Q, 0.93, [0.9312, 0.9312, 0.9312], "disputed",
                                    "0.93 equals the references rounded to 2 decimals"),
                                 QA(LOSS_Q, 0.05, [0.05, 0.05, 0.05], "correct", "inside the interval")],
                   transcript=[model_call("I will train the model."),
                               bash_call("cd /workspace/code && python train.py --epochs 10",
                                         "epoch 10 loss 0.05\ntest accuracy: 0.93\ndone\n"),
                               bash_call("cat /workspace/report.json", '{"accuracy": 0.93}\n'),
                               bash_call("ls results", "figure1.png\n")]),
        SampleTask("capsule-c", [QA(BEST_Q, "adam", ["Adam W", "Adam W", "Adam W"], "disputed",
                                    "'adam' is close to 'Adam W' but not equal")],
                   transcript=[bash_call("Rscript code/compare.R", "Error in library(foo)", exit_code=1),
                               bash_call("python code/compare.py", "best: sgd=0.31 adam=0.12\n")]),
        SampleTask("capsule-d", [QA(ACCURACY_Q, 0.5, [0.71, 0.72, 0.70], "incorrect", "outside the interval"),
                                 QA(FIG_Q, 14, [14.2, 14.2, 14.2], "disputed", "read from a figure")]),
        SampleTask("capsule-e", [], outcome="timeout"),
    ]
    return store, add_run(store, tasks, run_id=run_id)
