"""A run: plan tasks (capsule x repeat) with their full config, then execute and record them.

The plan is written to the store before any task starts. The driver (this module) is the only
writer: workers execute tasks (task_runner.py) wherever the executor puts them, and each
result is graded and recorded here in one transaction, so killing the process at any moment
loses no finished task and duplicates none. `resume_run` finishes exactly the unfinished ones.
"""

from __future__ import annotations

import json
import platform
import secrets
import socket
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from corebench_runner import __version__
from corebench_runner.capsule import LEVELS, Capsule
from corebench_runner.diagnostics.stored import queue_flagged_in
from corebench_runner.errors import UserError
from corebench_runner.executors import make_executor
from corebench_runner.plugins import load_plugin
from corebench_runner.progress import Progress
from corebench_runner.records import Limits, Outcome
from corebench_runner.recording import build_record
from corebench_runner.results import RunSummary, run_summary
from corebench_runner.store import (
    Store, TaskRecord, claim_task, create_run, finish_task, get_run, set_run_status, tasks_to_resume,
)
from corebench_runner.suite import Suite
from corebench_runner.task_runner import TaskJob, cancel_run, execute_task

DEFAULT_GRADER = "tolerant"
NO_MODEL = "none"


@dataclass(frozen=True)
class RunOptions:
    """Everything that defines a run; stored as the run's config so --resume repeats it exactly."""

    model: str
    scaffold: str
    level: str
    capsule_ids: tuple[str, ...]
    repeats: int = 1
    grader: str = DEFAULT_GRADER
    timeout: float | None = None  # per task; None: each capsule's resources.time_limit
    max_steps: int | None = 60
    max_cost_per_task: float | None = None
    max_cost: float | None = None  # for the whole run
    sandbox: str = "docker"
    allow_no_gpu: bool = False
    infra_retries: int = 2
    model_base_url: str | None = None


@dataclass(frozen=True)
class ExecutionOptions:
    """How and where to run; may change between a run and its resume."""

    concurrency: int = 4
    executor: str = "local"
    ray_address: str | None = None
    quiet: bool = False


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def select_capsules(suite: Suite, ids: list[str] | None, level: str) -> tuple[list[Capsule], list[str]]:
    """Named capsules must support the level; with none named, all that do. Returns (capsules, notes)."""
    if level not in LEVELS:
        raise UserError(f"--level: unknown level {level!r}; use one of {', '.join(LEVELS)}")
    notes: list[str] = []
    if ids:
        capsules = [suite.load(cid) for cid in ids]
        for capsule in capsules:
            if level not in capsule.supported_levels():
                raise UserError(f"{capsule.toml_path}: capsule {capsule.id} cannot run at level {level} "
                                f"(it supports: {', '.join(capsule.supported_levels()) or 'none'}); pick another --level")
        return capsules, notes
    capsules = []
    for capsule_id in suite.capsule_ids():
        try:
            capsule = suite.load(capsule_id)
        except UserError as exc:  # one broken capsule must not stop the others
            notes.append(f"left out {capsule_id}: {exc}")
            continue
        if level in capsule.supported_levels():
            capsules.append(capsule)
        else:
            notes.append(f"left out {capsule.id}: it cannot run at level {level}")
    if not capsules:
        raise UserError(f"{suite.capsules_dir}: no capsule can run at level {level}; add capsules or pick another --level")
    return capsules, notes


def check_model(options: RunOptions, scaffold: Any) -> None:
    """Fail before planning when a scaffold needs a model that cannot be made (e.g. no API key)."""
    if not scaffold.needs_model:
        return
    if options.model == NO_MODEL:
        raise UserError(f"--model: scaffold {options.scaffold} needs a model; pass e.g. "
                        "--model anthropic:claude-sonnet-4-5 (or use --scaffold oracle)")
    from corebench_runner.models.factory import make_model

    model = make_model(options.model, base_url=options.model_base_url)  # a UserError for a missing key
    if hasattr(model, "close"):
        model.close()
    caps = [flag for flag, value in (("--max-cost-per-task", options.max_cost_per_task),
                                     ("--max-cost", options.max_cost)) if value is not None]
    if caps:
        from corebench_runner.models.pricing import require_price

        require_price(getattr(model, "model", options.model), caps[0])


def plan_run(store: Store, suite: Suite, options: RunOptions, capsules: list[Capsule],
             execution: ExecutionOptions) -> str:
    """Record the run and every task it will execute; returns the run id."""
    if options.repeats < 1:
        raise UserError(f"--repeats must be at least 1, not {options.repeats}")
    scaffold = load_plugin("scaffolds", options.scaffold, suite.root)
    check_model(options, scaffold)
    load_plugin("graders", options.grader, suite.root)
    for capsule in capsules:
        if capsule.grader:
            load_plugin("graders", capsule.grader, suite.root)
    from corebench_runner.sandbox.factory import host_has_gpu

    hashes = {c.id: c.content_hash() for c in capsules}
    config = {
        "options": asdict(options), "suite_root": str(suite.root), "capsule_hashes": hashes,
        "execution": asdict(execution), "gpu": bool(host_has_gpu()), "python": platform.python_version(),
        "platform": platform.platform(),
    }
    run_id = new_run_id()
    create_run(store, run_id, model=options.model, scaffold=options.scaffold,
               scaffold_version=str(getattr(scaffold, "version", "")), level=options.level, grader=options.grader,
               engine_version=__version__, host=socket.gethostname(), config=config,
               tasks=[(c.id, r, hashes[c.id]) for c in capsules for r in range(options.repeats)])
    return run_id


def stored_options(store: Store, run_id: str) -> tuple[str, RunOptions, Suite]:
    """The options a run was planned with, for --resume."""
    run = get_run(store, run_id)
    config = json.loads(run["config_json"])
    fields = dict(config["options"])
    fields["capsule_ids"] = tuple(fields.get("capsule_ids", ()))
    return run["id"], RunOptions(**fields), Suite(Path(config["suite_root"]))


def execute_run(store: Store, run_id: str, options: RunOptions, suite: Suite, execution: ExecutionOptions,
                worker: Callable[[TaskJob], Any] = execute_task, resumed: bool = False) -> RunSummary:
    """Run every unfinished task of a run and record each as it finishes.

    resumed: the run was interrupted before; first remove the containers it left behind, on
    every machine the executor runs tasks on (a killed run's Ray workers left theirs there).
    """
    pending = tasks_to_resume(store, run_id)
    before = run_summary(store, run_id)
    set_run_status(store, run_id, "running")
    limits = Limits(max_steps=options.max_steps, wall_seconds=options.timeout, max_cost_usd=options.max_cost_per_task)
    jobs = [TaskJob(run_id=run_id, task_id=t["id"], capsule_id=t["capsule_id"], repeat=t["repeat"],
                    suite_root=str(suite.root), level=options.level, scaffold=options.scaffold, model=options.model,
                    limits=limits, model_base_url=options.model_base_url, sandbox_kind=options.sandbox,
                    allow_no_gpu=options.allow_no_gpu, infra_retries=options.infra_retries) for t in pending]
    progress = Progress(total=before.tasks_total, already_done=before.tasks_done, correct=before.correct,
                        scored=before.scored, cost_usd=before.cost_usd, quiet=execution.quiet)
    graders: dict[str, Any] = {}
    capsules: dict[str, Capsule] = {}
    try:
        executor = make_executor(execution.executor, worker, execution.concurrency, execution.ray_address)
    except BaseException:
        progress.close()
        set_run_status(store, run_id, "interrupted")  # planned but never started: resumable
        raise
    if resumed and options.sandbox == "docker":
        from corebench_runner.sandbox.docker import remove_leftovers

        removed = [name for names in executor.on_every_node(remove_leftovers, run_id) for name in names]
        if removed:
            progress.note(f"removed {len(removed)} container(s) left by the interrupted run")
    spent = before.cost_usd or 0.0
    status = "interrupted"
    try:
        queue = list(jobs)
        while queue or executor.in_flight():
            while queue and executor.in_flight() < executor.slots:
                if options.max_cost is not None and spent >= options.max_cost:
                    _stop_for_budget(store, queue, options.max_cost, progress)
                    queue = []
                    break
                job = queue.pop(0)
                if claim_task(store, job.task_id):
                    executor.submit(job)
            if not executor.in_flight():
                break
            job, attempt = executor.next_result()
            capsule = capsules.get(job.capsule_id) or capsules.setdefault(job.capsule_id, suite.load(job.capsule_id))
            grader_name = capsule.grader or options.grader
            grader = graders.get(grader_name) or graders.setdefault(
                grader_name, load_plugin("graders", grader_name, suite.root))
            record = build_record(attempt, capsule, grader, grader_name, options.model, store.artifacts_dir)
            # Flagged correct answers join the review queue in the same transaction as the task.
            if finish_task(store, job.task_id, record, also=queue_flagged_in):
                progress.task_done(record.outcome, record.usage.cost_usd)
                # An unknown cost is never counted as $0: under a run cap, nothing more starts.
                spent += record.usage.cost_usd if record.usage.cost_usd is not None else \
                    (float("inf") if options.max_cost is not None else 0.0)
        status = "finished" if not tasks_to_resume(store, run_id) else "interrupted"
    except BaseException:
        status = "interrupted"
        _stop_running_tasks(run_id, options)
        raise
    finally:
        executor.close()
        progress.close()
        set_run_status(store, run_id, status)
    return run_summary(store, run_id)


def _stop_running_tasks(run_id: str, options: RunOptions) -> None:
    """On Ctrl-C, end this run's tasks now rather than when their scaffolds finish (maybe an hour)."""
    cancel_run(run_id)
    if options.sandbox == "docker":
        from corebench_runner.sandbox.docker import remove_leftovers

        try:
            # Ours, though this process still lives; their scaffolds' next command fails and the task returns.
            remove_leftovers(run_id, include_live=True)
        except Exception:  # Docker itself may be what failed; `corebench clean` remains
            pass


def _stop_for_budget(store: Store, queue: list[TaskJob], max_cost: float, progress: Progress) -> None:
    """The run's --max-cost is spent: the tasks that never started end as budget_exceeded, said so."""
    for job in queue:
        record = TaskRecord(outcome=Outcome.BUDGET_EXCEEDED.value,
                            error=f"not started: the run had spent its --max-cost of ${max_cost:.2f}")
        if finish_task(store, job.task_id, record):
            progress.task_done(record.outcome, 0.0)


def hash_drift(store: Store, run_id: str, suite: Suite) -> list[str]:
    """Capsules whose content changed since the run was planned (a resume then mixes versions)."""
    changed = []
    for row in store.query("SELECT DISTINCT capsule_id, capsule_hash FROM tasks WHERE run_id = ? AND status != 'done'",
                           (run_id,)):
        try:
            if suite.load(row["capsule_id"]).content_hash() != row["capsule_hash"]:
                changed.append(row["capsule_id"])
        except UserError:
            changed.append(row["capsule_id"])
    return changed

