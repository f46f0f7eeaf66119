"""A results store of the shape an evaluation team publishes: 6 models x 3 scaffolds x 2 suites
over 60 days, written through the engine's own store functions (support_report.add_run and
review.record_verdict), so the report reads exactly what real runs leave behind.

What it holds, and what the tests look for in the site:
- two suites, each with its own capsule set: `core-bench 1.1 mainline` (8 capsules, one of
  them `capsule-broken` that no agent ever solves) and `corebench-runner 1 bundled` (4 capsules);
- per (model, scaffold) a complete hard run of each suite; a second, later hard run of v1.1 for
  some (so the leaderboard takes the latest), repeats (x3) for others;
- partial runs (3 of the 8 v1.1 capsules), which must be listed apart, never ranked;
- two runs of one model on one day (the time axis must keep them on that day);
- an unpriced model (`local:qwen3-coder`): every cost unknown, listed under the cost chart;
- an easy-level run: its own table, never ranked beside hard runs;
- a model with a single run (`openai:o3`, bundled suite): a point and a number, not a line;
- disputes, about half settled by two named reviewers with reasons, the rest left open; one
  hostile transcript and answer, and one verdict whose reason holds markup.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from corebench_runner.review.verdicts import record_verdict
from corebench_runner.store.database import Store, open_store
from support_report import HOSTILE_TEXT, add_run

V11 = "core-bench 1.1 mainline"
BUNDLED = "corebench-runner 1 bundled"
SUITE_CAPSULES = {
    V11: [f"capsule-{n:04d}" for n in range(1, 8)] + ["capsule-broken"],
    BUNDLED: ["iris-lda", "penguins-glm", "sleep-anova", "mnist-mlp"],
}
# model -> (skill, dollars scale); the unpriced model has no price at all.
FLEET_MODELS = {
    "anthropic:claude-opus-5": (0.75, 3.0),
    "anthropic:claude-sonnet-4-6": (0.65, 1.0),
    "anthropic:claude-haiku-4-5": (0.45, 0.25),
    "openai:gpt-5": (0.7, 1.5),
    "openai:gpt-4.1-mini": (0.35, 0.1),
    "local:qwen3-coder": (0.4, 0.0),
}
UNPRICED_MODEL = "local:qwen3-coder"
FLEET_SCAFFOLDS = {"core-agent": 0.0, "claude-code": 0.05, "codex": -0.05}
START = date(2026, 9, 20)
REVIEWERS = ("ada.lovelace", "grace.hopper")
SAME_DAY = "2026-11-03"
SINGLE_RUN_MODEL = "openai:o3"
HOSTILE_REASON = "looks right " + HOSTILE_TEXT


@dataclass
class Fleet:
    store: Store
    run_ids: list[str] = field(default_factory=list)
    partial_run_ids: list[str] = field(default_factory=list)
    same_day_run_ids: list[str] = field(default_factory=list)
    easy_run_id: str = ""
    repeated_run_ids: list[str] = field(default_factory=list)
    single_run_id: str = ""
    hostile_task_id: int = 0
    verdicts: list[dict] = field(default_factory=list)  # each settled answer: id, reviewer, reason, status


def suite_capsules(scale: int = 1) -> dict[str, list[str]]:
    """Each suite's capsules; `scale` multiplies their number (the benchmark grows the store this way)."""
    if scale == 1:
        return SUITE_CAPSULES
    return {suite: capsules + [f"{suite.split()[0]}-extra-{n:04d}" for n in range(len(capsules) * (scale - 1))]
            for suite, capsules in SUITE_CAPSULES.items()}


def build_fleet_store(path: Path, scale: int = 1, transcripts: bool = True) -> Fleet:
    rng = random.Random(60)
    fleet = Fleet(store=open_store(path))
    capsules = suite_capsules(scale)
    for m, (model, (skill, dollars)) in enumerate(FLEET_MODELS.items()):
        for s, (scaffold, bonus) in enumerate(FLEET_SCAFFOLDS.items()):
            short = model.split(":")[1]
            common = dict(model=model, scaffold=scaffold, skill=skill + bonus, price_known=model != UNPRICED_MODEL,
                          cost_scale=dollars, write_transcripts=transcripts)
            day = START + timedelta(days=(7 * m + 3 * s) % 40)
            repeats = 3 if (m + s) % 4 == 0 else 1
            run_id = _run(fleet, rng, f"{day}-{short}-{scaffold}-v11", day, m, benchmark=V11,
                          capsules=capsules[V11], repeats=repeats, **common)
            if repeats > 1:
                fleet.repeated_run_ids.append(run_id)
            later = day + timedelta(days=20)
            if (m + s) % 3 == 0:  # a later run of the same agent: the leaderboard ranks the latest
                _run(fleet, rng, f"{later}-{short}-{scaffold}-v11-again", later, m, benchmark=V11,
                     capsules=capsules[V11], **{**common, "skill": common["skill"] + 0.1})
            if (m + s) % 5 == 1:  # a smoke test over a few capsules: shown apart, never ranked
                fleet.partial_run_ids.append(_run(fleet, rng, f"{later}-{short}-{scaffold}-v11-partial", later, m,
                                                  benchmark=V11, capsules=capsules[V11][:3], **common))
            bundled_day = START + timedelta(days=45 + (m + s) % 14)
            hostile = "iris-lda" if (m, s) == (1, 0) else None
            run_id = _run(fleet, rng, f"{bundled_day}-{short}-{scaffold}-bundled", bundled_day, m, benchmark=BUNDLED,
                          capsules=capsules[BUNDLED], hostile_capsule=hostile, **common)
            if hostile:
                fleet.hostile_task_id = fleet.store.query(
                    "SELECT id FROM tasks WHERE run_id = ? AND capsule_id = ?", (run_id, hostile))[0]["id"]
    # Two runs of one agent on one day: one day on the time axis, two points.
    for hour in (9, 17):
        fleet.same_day_run_ids.append(_run(
            fleet, rng, f"{SAME_DAY}-sonnet-core-agent-{hour}h", date.fromisoformat(SAME_DAY), 0, hour=hour,
            benchmark=BUNDLED, capsules=capsules[BUNDLED], model="anthropic:claude-sonnet-4-6",
            scaffold="core-agent", skill=0.6, cost_scale=1.0))
    fleet.easy_run_id = _run(fleet, rng, "2026-11-18-haiku-core-agent-easy", date(2026, 11, 18), 0, level="easy",
                             benchmark=V11, capsules=capsules[V11], model="anthropic:claude-haiku-4-5",
                             scaffold="core-agent", skill=0.8, cost_scale=0.25)
    fleet.single_run_id = _run(fleet, rng, "2026-11-10-o3-core-agent-bundled", date(2026, 11, 10), 0,
                               benchmark=BUNDLED, capsules=capsules[BUNDLED], model=SINGLE_RUN_MODEL,
                               scaffold="core-agent", skill=0.6, cost_scale=2.0)
    _settle_half(fleet, rng)
    return fleet


def _run(fleet: Fleet, rng: random.Random, run_id: str, day: date, m: int, *, hour: int | None = None,
         **kwargs) -> str:
    created = f"{day}T{hour if hour is not None else 8 + m:02d}:00:00+00:00"
    add_run(fleet.store, rng, run_id, created=created, **kwargs)
    fleet.run_ids.append(run_id)
    return run_id


def _settle_half(fleet: Fleet, rng: random.Random) -> None:
    """Every other dispute settled by a named reviewer, with a reason and a date after the run."""
    disputed = fleet.store.query(
        "SELECT a.id, r.created FROM answers a JOIN tasks t ON t.id = a.task_id JOIN runs r ON r.id = t.run_id "
        "WHERE a.status = 'disputed' ORDER BY a.id")
    hostile_answers = {r["id"] for r in fleet.store.query("SELECT id FROM answers WHERE task_id = ? AND status = "
                                                           "'disputed'", (fleet.hostile_task_id,))}
    for n, row in enumerate(disputed):
        if n % 2 and row["id"] not in hostile_answers:
            continue
        status = "correct" if n % 4 == 0 else "incorrect"
        reviewer = REVIEWERS[(n // 2) % 2]
        reason = ("0.91 is the reference 0.912 rounded to two places" if status == "correct"
                  else "the value comes from the wrong table of the paper")
        if row["id"] in hostile_answers:
            reason = HOSTILE_REASON
        when = (date.fromisoformat(row["created"][:10]) + timedelta(days=2)).isoformat() + "T10:30:00+00:00"
        record_verdict(fleet.store, row["id"], status, reviewer=reviewer, reason=reason, created=when)
        fleet.verdicts.append({"answer_id": row["id"], "reviewer": reviewer, "reason": reason, "status": status,
                               "created": when})
