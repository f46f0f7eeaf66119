"""A realistic results store for report tests: several models, runs over several dates, repeats,
every outcome kind, disputes (some settled by review, some open) and one hostile transcript.

Written through the engine's own store functions (create_run, claim_task, finish_task,
record_verdict), so the reports read exactly what a real run leaves behind.
"""

from __future__ import annotations

import base64
import io
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from corebench_runner.records import Usage
from corebench_runner.review.verdicts import record_verdict
from corebench_runner.store.database import (
    AnswerRecord,
    Store,
    TaskRecord,
    claim_task,
    create_run,
    finish_task,
    open_store,
    set_run_status,
)

MODELS = ["anthropic:claude-sonnet-4-6", "anthropic:claude-haiku-4-5", "openai:gpt-4.1-mini"]
CAPSULES = [f"capsule-{n:04d}" for n in range(1, 6)] + ["capsule-broken"]
QUESTIONS = [
    ("Report the test accuracy of the model.", [0.912, 0.912, 0.912], False),
    ("fig 2: which method has the highest AUC?", ["lasso", "lasso", "lasso"], True),
    ("Report the number of significant genes.", [41, 41, 41], False),
]
# Everything a hostile agent might write: it must come out of the site as plain text.
HOSTILE_SCRIPT = "<script>window.__pwned = 'script'; console.error('pwned')</script>"
HOSTILE_IMG = "<img src=x onerror=\"window.__pwned = 'img'\">"
HOSTILE_LINK = "<a href=\"javascript:window.__pwned = 'link'\">click me</a>"
HOSTILE_TEXT = f"Here is my answer {HOSTILE_SCRIPT} and {HOSTILE_IMG} and {HOSTILE_LINK}"
HOSTILE_FILE = "<img src=x onerror=alert(1)>.csv"


@dataclass
class ReportStore:
    """The store built for tests, and what the tests should find in the site."""

    store: Store
    run_ids: list[str] = field(default_factory=list)
    hostile_task_id: int = 0
    image_task_id: int = 0
    open_dispute_answer_ids: list[int] = field(default_factory=list)
    settled_answer_ids: list[int] = field(default_factory=list)


def png_bytes(color: str = "tab:blue") -> bytes:
    """A small real PNG figure, like the ones an agent views."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 1.5), dpi=50)
    figure.add_subplot().plot([0, 1, 2], [1, 3, 2], color=color)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def transcript_events(rng: random.Random, capsule_id: str, *, hostile: bool = False,
                      image: bytes | None = None) -> list[dict]:
    """Transcript events in the core-agent's format (docs/models.md, "Transcript events")."""
    text = HOSTILE_TEXT if hostile else f"I will reproduce {capsule_id} by running its code."
    usage = {"input_tokens": 1200, "output_tokens": 80, "cache_creation_input_tokens": 900,
             "cache_read_input_tokens": 0, "cost_usd": 0.0123}
    events: list[dict] = [
        {"type": "prompt", "t": 0.0, "system": "You are an expert research engineer.",
         "user": f"Reproduce {capsule_id} and answer the questions.", "tools": ["bash", "view_image", "submit"]},
        {"type": "model_call", "t": 0.5, "step": 1, "seconds": 0.5, "stop_reason": "tool_use", "usage": usage,
         "content": [{"type": "text", "text": text},
                     {"type": "tool_use", "id": "toolu_1", "name": "bash",
                      "input": {"command": "ls /workspace/code && python code/main.py"}}]},
        {"type": "tool_call", "t": 3.7, "step": 1, "id": "toolu_1", "name": "bash",
         "input": {"command": "python code/main.py"},
         "output": (f"{HOSTILE_SCRIPT}\nwrote {HOSTILE_FILE}\n" if hostile else "")
                   + f"accuracy: {rng.uniform(0.85, 0.95):.4f}\n",
         "is_error": False, "seconds": 3.2, "exit_code": 0, "timed_out": False},
    ]
    if image is not None:
        events += [
            {"type": "tool_call", "t": 4.0, "step": 2, "id": "toolu_2", "name": "view_image",
             "input": {"path": "results/fig2.png"}, "output": "image/png, 2 kB", "is_error": False,
             "seconds": 0.1, "path": "/workspace/results/fig2.png", "media_type": "image/png"},
            {"type": "image", "t": 4.0, "step": 2, "path": "/workspace/results/fig2.png", "media_type": "image/png",
             "bytes_b64": base64.b64encode(image).decode()},
        ]
    if hostile:
        events += [
            {"type": "image", "t": 5.0, "step": 3, "path": HOSTILE_FILE, "media_type": "image/svg+xml",
             "bytes_b64": base64.b64encode(b"<svg onload=\"window.__pwned='svg'\"/>").decode()},
            {"type": "note", "t": 5.0, "text": HOSTILE_LINK},
            {"type": HOSTILE_SCRIPT, "payload": HOSTILE_LINK},
            "not even an object " + HOSTILE_IMG,
        ]
    events += [
        {"type": "model_call", "t": 9.0, "step": 4, "seconds": 1.1, "stop_reason": "tool_use", "usage": usage,
         "content": [{"type": "text", "text": "Submitting."},
                     {"type": "tool_use", "id": "toolu_4", "name": "submit", "input": {"answers": {"q": 1}}}]},
        {"type": "tool_call", "t": 9.1, "step": 4, "id": "toolu_4", "name": "submit", "input": {"answers": {"q": 1}},
         "output": "accepted; wrote /workspace/report.json", "is_error": False, "seconds": 0.1, "accepted": True},
        {"type": "end", "t": 9.1, "outcome": None, "reason": "submitted", "steps": 4},
    ]
    return events


def _answers(rng: random.Random, outcome: str, hostile: bool) -> list[AnswerRecord] | None:
    if outcome not in ("correct", "incorrect", "disputed"):
        return None
    statuses = ["correct"] * len(QUESTIONS)
    if outcome == "incorrect":
        statuses[rng.randrange(len(QUESTIONS))] = "incorrect"
    if outcome == "disputed":
        statuses[0] = "disputed"
    records = []
    for (question, runs, vision), status in zip(QUESTIONS, statuses):
        reported = runs[0] if status == "correct" else (0.91 if status == "disputed" else "ridge")
        if hostile and question.startswith("fig"):
            reported = HOSTILE_IMG
        reason = {"correct": "inside the 95% prediction interval",
                  # as the official rule words it, binary float noise included
                  "incorrect": "differs from the reference" if not isinstance(runs[0], float) else
                  f"{reported!r} is outside the 95% prediction interval [0.9119999999999999, 0.9120000000000001]",
                  "disputed": "rounded value of the reference; needs a person"}[status]
        records.append(AnswerRecord(question=question, reported=reported, reported_present=True,
                                    references=list(runs), vision=vision, status=status, reason=reason))
    return records


def _outcome(rng: random.Random, capsule_id: str, skill: float) -> str:
    if capsule_id == "capsule-broken":
        return rng.choice(["incorrect", "infra_error", "timeout"])
    roll = rng.random()
    if roll < skill:
        return "correct"
    return rng.choice(["incorrect", "incorrect", "disputed", "no_report", "infra_error", "timeout",
                       "budget_exceeded", "invalid_report"])


def add_run(store: Store, rng: random.Random, run_id: str, *, model: str, created: str, level: str = "hard",
            scaffold: str = "core-agent", capsules: list[str] = CAPSULES, repeats: int = 1, skill: float = 0.5,
            hostile_capsule: str | None = None, image_capsule: str | None = None,
            write_transcripts: bool = True, benchmark: str | None = None, price_known: bool = True,
            cost_scale: float = 1.0) -> dict[str, int]:
    """Record one finished run with the engine's own writes; returns {capsule#repeat: task id}.

    `benchmark` records the capsules' suite label as run.plan_run does; `price_known=False` leaves
    every task's cost unknown (an unpriced model); `cost_scale` makes a model dearer or cheaper.
    """
    plan = [(capsule, repeat, "sha256:" + capsule) for capsule in capsules for repeat in range(repeats)]
    config: dict = {"limits": {"max_steps": 40}, "options": {"repeats": repeats}}
    if benchmark is not None:
        config["benchmarks"] = {capsule: benchmark for capsule in capsules}
    create_run(store, run_id, model=model, scaffold=scaffold, scaffold_version="1.0", level=level,
               grader="tolerant", engine_version="0.1.0", host="test-host", config=config, tasks=plan)
    task_ids = {}
    rows = store.query("SELECT id, capsule_id, repeat FROM tasks WHERE run_id = ? ORDER BY id", (run_id,))
    for row in rows:
        capsule, repeat = row["capsule_id"], row["repeat"]
        hostile = capsule == hostile_capsule and repeat == 0
        outcome = "disputed" if hostile else _outcome(rng, capsule, skill)
        transcript = None
        if write_transcripts:
            transcript = f"{run_id}/{capsule}-{repeat}/transcript.json"
            path = store.artifacts_dir / transcript
            path.parent.mkdir(parents=True, exist_ok=True)
            image = png_bytes() if capsule == image_capsule and repeat == 0 else None
            path.write_text(json.dumps(transcript_events(rng, capsule, hostile=hostile, image=image)))
        claim_task(store, row["id"])
        unknown_price = not price_known or (model.startswith("openai:") and capsule == "capsule-0003")
        finish_task(store, row["id"], TaskRecord(
            outcome=outcome, model=model, error="container exited 137" if outcome == "infra_error" else None,
            seconds=round(rng.uniform(60, 900), 1), steps=rng.randint(3, 40),
            usage=Usage(input_tokens=rng.randint(20_000, 200_000), output_tokens=rng.randint(1_000, 20_000),
                        cost_usd=None if unknown_price else round(rng.uniform(0.05, 1.5) * cost_scale, 4),
                        calls=rng.randint(3, 40)),
            answers=_answers(rng, outcome, hostile), transcript_path=transcript))
        task_ids[f"{capsule}#{repeat}"] = row["id"]
    set_run_status(store, run_id, "finished")
    finished = created[:11] + "23:59:00+00:00"
    with store.transaction() as conn:
        conn.execute("UPDATE runs SET created = ?, finished = ? WHERE id = ?", (created, finished, run_id))
    return task_ids


def build_report_store(path: Path) -> ReportStore:
    """Three models, core-agent at hard level on three dates each, plus a repeated easy run and a second scaffold."""
    rng = random.Random(20261123)
    store = open_store(path)
    built = ReportStore(store=store)
    dates = ["2026-09-14", "2026-10-12", "2026-11-16"]
    for m, model in enumerate(MODELS):
        for d, date in enumerate(dates):
            run_id = f"{date}-{model.split(':')[1]}-hard"
            last = d == len(dates) - 1
            ids = add_run(store, rng, run_id, model=model, created=f"{date}T{9 + m:02d}:00:00+00:00",
                          skill=0.35 + 0.15 * d + 0.1 * (m == 0),
                          hostile_capsule="capsule-0002" if (m == 0 and last) else None,
                          image_capsule="capsule-0001" if (m == 0 and last) else None)
            built.run_ids.append(run_id)
            if m == 0 and last:
                built.hostile_task_id = ids["capsule-0002#0"]
                built.image_task_id = ids["capsule-0001#0"]
    run_id = "2026-11-20-claude-haiku-4-5-easy-x3"
    add_run(store, rng, run_id, model=MODELS[1], created="2026-11-20T08:00:00+00:00", level="easy",
            repeats=3, skill=0.7)
    built.run_ids.append(run_id)
    run_id = "2026-11-21-claude-sonnet-4-6-command"
    add_run(store, rng, run_id, model=MODELS[0], created="2026-11-21T08:00:00+00:00", scaffold="command",
            skill=0.5, write_transcripts=False)
    built.run_ids.append(run_id)
    _review_some(built)
    return built


def render_site(store_path: Path, out: Path) -> Path:
    """`corebench report --out OUT --store STORE` as a user types it; the site folder on success."""
    from click.testing import CliRunner

    from corebench_runner.cli import main

    result = CliRunner().invoke(main, ["report", "--out", str(out), "--store", str(store_path)])
    assert result.exit_code == 0, result.output
    return out


def report_site(root: Path) -> tuple[ReportStore, Path]:
    """The realistic store of build_report_store, rendered to root/site. Close built.store when done."""
    built = build_report_store(root / "results.sqlite")
    return built, render_site(built.store.path, root / "site")


def _review_some(built: ReportStore) -> None:
    """Settle every other open dispute (alternating correct / incorrect); leave the rest open."""
    disputed = [row["id"] for row in built.store.query("SELECT id FROM answers WHERE status = 'disputed' ORDER BY id")]
    for n, answer_id in enumerate(disputed):
        if n % 2 == 0 and n < len(disputed) - 1:
            verdict = "correct" if n % 4 == 0 else "incorrect"
            record_verdict(built.store, answer_id, verdict, reviewer="ada",
                           reason="rounding of 0.912 to two places" if verdict == "correct" else "wrong table")
            built.settled_answer_ids.append(answer_id)
        else:
            built.open_dispute_answer_ids.append(answer_id)
