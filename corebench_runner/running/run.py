"""A run: plan tasks (capsule x repeat) with their full config, then execute and record them.

The plan is written to the store before any task starts. The driver (this module) is the only
writer: workers execute tasks (task.py) wherever the executor puts them, and each
result is graded and recorded here in one transaction, so killing the process at any moment
loses no finished task and duplicates none. `resume_run` finishes exactly the unfinished ones.
"""

from __future__ import annotations

import errno
import json
import platform
import secrets
import shutil
import socket
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from corebench_runner import __version__
from corebench_runner.agents.contract import Scaffold, load_scaffold
from corebench_runner.capsules.format import LEVELS, Capsule
from corebench_runner.capsules.plugins import load_plugin
from corebench_runner.capsules.suite import Suite
from corebench_runner.diagnostics.stored import queue_flagged_in, queue_suspect_in
from corebench_runner.errors import UserError
from corebench_runner.executors import WorkerLost, make_executor
from corebench_runner.grading.loop import grader_for
from corebench_runner.records import Limits, Outcome
from corebench_runner.running import tracing
from corebench_runner.running.confidence import DETAILS_KEY as CONFIDENCE_KEY
from corebench_runner.running.folders import remove_dead_task_folders
from corebench_runner.running.preload import preload_for_grading
from corebench_runner.running.progress import Progress
from corebench_runner.running.recording import build_record, write_artifacts
from corebench_runner.running.services import WorkerServices
from corebench_runner.running.task import TaskJob, execute_task, lost_worker_attempt, stop_task_here
from corebench_runner.sandbox import providers
from corebench_runner.store import lease
from corebench_runner.store.calibration import record_confidences
from corebench_runner.store.database import (
    Store,
    TaskRecord,
    claim_task,
    create_run,
    finish_task,
    get_run,
    tasks_to_resume,
)
from corebench_runner.store.results import RunSummary, run_summary
from corebench_runner.store.runs import unfinished_capsule_hashes
from corebench_runner.store.usage_journal import UsageJournal

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
    verify: bool = False  # re-run each task's reproduce.sh in a fresh sandbox and check its answers


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


def check_model(options: RunOptions, scaffold: Scaffold) -> None:
    """Fail before planning when a scaffold needs a model that cannot be made (e.g. no API key)."""
    if not scaffold.needs_model:
        return
    if options.model == NO_MODEL:
        raise UserError(f"--model: scaffold {options.scaffold} needs a model; pass e.g. "
                        "--model anthropic:claude-opus-5-5 (or use --scaffold oracle)")
    # An agent CLI speaks one provider's API: say so before asking for that provider's key.
    api = scaffold.model_api
    provider = options.model.partition(":")[0]
    if api is not None and provider in ("anthropic", "openai") and provider != api:
        raise UserError(f"--model {options.model}: scaffold {options.scaffold} speaks the "
                        f"{'OpenAI' if api == 'openai' else 'Anthropic'} API; pass --model {api}:MODEL")
    from corebench_runner.models.factory import check_model_for_run, make_model

    check_model_for_run(options.model, options.capsule_ids)  # e.g. every session a scripted run will play
    model = make_model(options.model, base_url=options.model_base_url,
                       capsule_id=options.capsule_ids[0] if options.capsule_ids else None)
    model.close()
    caps = [flag for flag, value in (("--max-cost-per-task", options.max_cost_per_task),
                                     ("--max-cost", options.max_cost)) if value is not None]
    if caps:
        from corebench_runner.models.pricing import require_price

        require_price(model.model, caps[0])


def plan_run(store: Store, suite: Suite, options: RunOptions, capsules: list[Capsule],
             execution: ExecutionOptions) -> str:
    """Record the run and every task it will execute; returns the run id."""
    if options.repeats < 1:
        raise UserError(f"--repeats must be at least 1, not {options.repeats}")
    if execution.executor == "local":
        # Fail fast, before a run is planned, rather than record every task as an infra error.
        provider = providers.provider_for(options.sandbox)
        provider.preflight()
        provider.prepare()  # while the run checks its model, not on the first task's way
    scaffold = load_scaffold(options.scaffold, suite.root)  # a plugin short of the contract stops here
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
        "benchmarks": {c.id: c.benchmark.label for c in capsules},  # the suite key: versions never mix
    }
    run_id = new_run_id()
    create_run(store, run_id, model=options.model, scaffold=options.scaffold,
               scaffold_version=scaffold.version, level=options.level, grader=options.grader,
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
                worker: Callable[[TaskJob, WorkerServices | None], Any] = execute_task,
                resumed: bool = False) -> RunSummary:
    """Run every unfinished task of a run and record each as it finishes.

    The run's lease (store/lease.py) is taken first, in the transaction that marks it running, and
    released with its final status. resumed: the run was interrupted before; first remove the
    containers and scratch folders it left behind, on every machine the executor runs tasks on.
    The run's workers get one WorkerServices (running/services.py) over this driver's usage journal.
    """
    status_before = get_run(store, run_id)["status"]
    ensure_room(store, run_id)  # a full disk must not flip the run to running and then fail
    run_lease = lease.acquire(store, run_id)
    journal: UsageJournal | None = None
    services = WorkerServices()
    try:
        run_lease.start_heartbeat()
        journal = UsageJournal(store.path)
        services.record_usage = journal.record
        return _drive(store, run_id, options, suite, execution, worker, resumed, run_lease, services, journal)
    except BaseException as exc:
        if disk_full(exc):
            _restore_status(run_lease, status_before)
        raise
    finally:
        if journal is not None:
            journal.close()
        services.cleanups.wait()  # tasks are recorded before their containers are gone; nothing outlives the run


def _drive(store: Store, run_id: str, options: RunOptions, suite: Suite, execution: ExecutionOptions,
           worker: Callable[[TaskJob, WorkerServices | None], Any], resumed: bool, run_lease: lease.RunLease,
           services: WorkerServices, journal: UsageJournal) -> RunSummary:
    pending = tasks_to_resume(store, run_id)
    before = run_summary(store, run_id)
    limits = Limits(max_steps=options.max_steps, wall_seconds=options.timeout, max_cost_usd=options.max_cost_per_task)
    jobs = [TaskJob(run_id=run_id, task_id=t["id"], capsule_id=t["capsule_id"], repeat=t["repeat"],
                    suite_root=str(suite.root), level=options.level, scaffold=options.scaffold, model=options.model,
                    limits=limits, model_base_url=options.model_base_url, sandbox_kind=options.sandbox,
                    allow_no_gpu=options.allow_no_gpu, infra_retries=options.infra_retries,
                    verify=options.verify) for t in pending]
    progress = Progress(total=before.tasks_total, already_done=before.tasks_done, correct=before.correct,
                        scored=before.scored, cost_usd=before.cost_usd, quiet=execution.quiet)
    graders: dict[str, Any] = {}
    capsules: dict[str, Capsule] = {}
    # A capsule's environment image is built by its first task (minutes, maybe): its steps show above the bar.
    services.note_build = progress.note
    try:
        executor = make_executor(execution.executor, worker, execution.concurrency, execution.ray_address,
                                 on_stop=stop_task_here, services=services)
    except BaseException:
        progress.close()
        run_lease.release("interrupted")  # planned but never started: resumable
        raise
    preload_for_grading(suite, [job.capsule_id for job in jobs])  # overlaps the first containers' start
    if resumed:
        _remove_leftovers(executor, run_id, options, progress)
    owner = run_lease.owner
    spent = before.cost_usd or 0.0
    status = "interrupted"
    try:
        queue = list(jobs)
        dropped: list[str] = []  # attempts another process recorded first: this run was taken over
        while queue or executor.in_flight():
            _stop_if_taken_over(run_id, run_lease, dropped)
            while queue and executor.in_flight() < executor.slots:
                if options.max_cost is not None and spent >= options.max_cost:
                    _stop_for_budget(store, queue, options.max_cost, progress)
                    queue = []
                    break
                job = queue.pop(0)
                if claim_task(store, job.task_id, owner=owner):
                    executor.submit(job)
                    progress.task_started(job.capsule_id)
            if not executor.in_flight():
                break
            job, attempt = executor.next_result()
            if isinstance(attempt, WorkerLost):
                attempt = _after_lost_worker(store, executor, job, attempt, owner, progress)
                if attempt is None:
                    continue  # running again elsewhere
            elif services.usage_missed(job.task_id):
                attempt.usage_live = False  # a call sent from elsewhere is not in the store: the record writes all
            capsule = capsules.get(job.capsule_id) or capsules.setdefault(job.capsule_id, suite.load(job.capsule_id))
            grader_name = grader_for(capsule, options.grader)  # v1.1 capsules: tolerant-v1.1 by default
            grader = graders.get(grader_name) or graders.setdefault(
                grader_name, load_plugin("graders", grader_name, suite.root))
            with tracing.phase(job.task_id, "grading"):
                record = build_record(attempt, capsule, grader, grader_name, options.model)

            def also(conn: Any, task_id: int, attempt: Any = attempt) -> None:
                # Only the process that records the task writes its artifacts; flagged correct
                # answers join the review queue in the same transaction as the task.
                write_artifacts(attempt, store.artifacts_dir)
                queue_flagged_in(conn, task_id)
                queue_suspect_in(conn, task_id)  # correct answers whose source or re-run casts doubt
                record_confidences(conn, task_id, attempt.details.get(CONFIDENCE_KEY))

            with tracing.phase(job.task_id, "recording"):
                recorded = finish_task(store, job.task_id, record, also=also, owner=owner)
            if recorded:
                progress.task_done(record.outcome, record.usage.cost_usd, job.capsule_id, record.seconds)
                # An unknown cost is never counted as $0: under a run cap, nothing more starts.
                spent += record.usage.cost_usd if record.usage.cost_usd is not None else \
                    (float("inf") if options.max_cost is not None else 0.0)
            else:
                dropped.append(f"{job.task_id} ({job.capsule_id})")
        _stop_if_taken_over(run_id, run_lease, dropped)  # also after the last task: never a silent exit 0
        status = "finished" if not tasks_to_resume(store, run_id) else "interrupted"
    except RunTakenOver:
        # The run's tasks and containers are the new owner's now: ours alone stop (their attempts
        # would be dropped anyway, after maybe an hour of model calls).
        _stop_running_tasks(run_id, options, services, only_this_process=True)
        raise
    except BaseException:
        status = "interrupted"
        executor.stop_workers()  # first, so that no worker elsewhere retries into a new container
        _stop_running_tasks(run_id, options, services)
        _keep_spend_of_stopped(executor, journal, services, options.model)
        raise
    finally:
        executor.close()
        progress.close()
        run_lease.release(status)
    return run_summary(store, run_id)


class RunTakenOver(UserError):
    """Another process resumed this run (its lease went stale): this one must stop recording it."""


def _stop_if_taken_over(run_id: str, run_lease: lease.RunLease, dropped: list[str]) -> None:
    """Raise RunTakenOver once the lease is lost or another process recorded one of our tasks."""
    if not (run_lease.lost.is_set() or dropped):
        return
    kept = (f"; its attempt at task {', '.join(dropped)} was dropped, since the other process recorded that task"
            if dropped else "")
    raise RunTakenOver(f"run {run_id} was taken over by another process (`corebench run --resume`), which records "
                       f"it now; this one stopped{kept}. See the run with `corebench show {run_id}`")


def _remove_leftovers(executor: Any, run_id: str, options: RunOptions, progress: Progress) -> None:
    """What a killed process of this run left: its containers and its task scratch folders."""
    folders = [name for names in executor.on_every_node(remove_dead_task_folders) for name in names]
    if folders:
        progress.note(f"removed {len(folders)} scratch folder(s) left by killed runs")
    # Other hosts' sandboxes of this run go too: holding the run's lease, this process is its only driver.
    removed = [name for names in executor.on_every_node(providers.cleanup, options.sandbox, run_id, False, True)
               for name in names]
    if removed:
        progress.note(f"removed {len(removed)} container(s) left by the interrupted run")


# Below this much free space next to the store, a run does not start: SQLite and the artifacts need room.
MIN_FREE_BYTES = 1024 * 1024


def ensure_room(store: Store, run_id: str | None = None) -> None:
    """Refuse to start (or resume) on a full disk, before the run is touched."""
    free = shutil.disk_usage(store.path.parent).free
    if free < MIN_FREE_BYTES:
        then = f"`corebench run --resume {run_id}`" if run_id else "run again"
        raise UserError(f"{store.path.parent}: the disk holding the store is full ({free} bytes free); free space "
                        f"there, then {then}")


def disk_full(exc: BaseException) -> bool:
    return (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "disk is full" in str(exc)


def _restore_status(run_lease: lease.RunLease, status: str) -> None:
    """The disk filled up mid-run: try to leave the run as it was (the disk may refuse that too)."""
    try:
        run_lease.release(status if status != "running" else "interrupted")
    except Exception:  # still full; the lease's heartbeat stops, so a resume can take the run over
        pass


def _stop_running_tasks(run_id: str, options: RunOptions, services: WorkerServices,
                        only_this_process: bool = False) -> None:
    """On Ctrl-C or SIGTERM, end this run's tasks now rather than when their scaffolds finish (maybe
    an hour); tasks not started yet start nothing (their services' cancellation is set).
    only_this_process: another process took the run over; its sandboxes stay."""
    services.cancel()
    provider = providers.provider_for(options.sandbox)
    scope = {"only_this_process": True} if only_this_process else {"include_live": True, "include_other_hosts": True}
    try:
        # Ours, though this process still lives; their scaffolds' next command fails and the task returns.
        provider.cleanup(run_id, **scope)
        time.sleep(CANCEL_SETTLE_SECONDS)  # a sandbox being created as we cancelled: it exists now
        provider.cleanup(run_id, **scope)
    except Exception:  # the engine itself may be what failed; `corebench clean` remains
        pass


# After a cancel, how long a container creation already sent to the engine may take to show up.
CANCEL_SETTLE_SECONDS = 1.0
# After a stop, how long the driver waits for workers elsewhere (Ray) to return what their tasks spent.
STOPPED_SPEND_WAIT_SECONDS = 5.0


def _keep_spend_of_stopped(executor: Any, journal: UsageJournal, services: WorkerServices, model: str) -> None:
    """The stopped tasks of remote workers (Ray) bring back what they spent; what of it is not in the store
    already (each call is journaled as it arrives) goes there as usage of the stopped attempt, so a resume
    counts it once."""
    try:
        stopped = executor.drain(STOPPED_SPEND_WAIT_SECONDS)
    except BaseException:  # a second Ctrl-C, or the cluster gone: stop without it
        return
    for job, attempt in stopped:
        usage = getattr(getattr(attempt, "submission", None), "usage", None)
        if usage is not None and usage.calls and not attempt.usage_live:
            journal.record(job.task_id, model, usage)
        else:
            for call in services.usage_missed(job.task_id):  # the store refused them as they came: once more
                journal.record(call.task_id, call.model, call.usage)


def _after_lost_worker(store: Store, executor: Any, job: TaskJob, lost: WorkerLost, owner: str,
                       progress: Progress) -> Any:
    """A task's worker died with it (its Ray node lost): an infrastructure failure naming the node. While the
    task's --infra-retries allow, it is claimed again (a new attempt) and runs elsewhere: None. Else its
    infra_error Attempt, to record."""
    if job.infra_retries > 0 and claim_task(store, job.task_id, owner=owner):
        again = replace(job, infra_retries=job.infra_retries - 1, earlier_failures=(*job.earlier_failures, lost.note))
        executor.submit(again)
        progress.note(f"{job.capsule_id}: {lost.note}; running it again")
        return None
    return lost_worker_attempt(job, lost.note)


def _stop_for_budget(store: Store, queue: list[TaskJob], max_cost: float, progress: Progress) -> None:
    """The run's --max-cost is spent: the tasks that never started end as budget_exceeded, said so."""
    for job in queue:
        record = TaskRecord(outcome=Outcome.BUDGET_EXCEEDED.value,
                            error=f"not started: the run had spent its --max-cost of ${max_cost:.2f}")
        if finish_task(store, job.task_id, record):
            progress.task_done(record.outcome, 0.0, job.capsule_id)


def hash_drift(store: Store, run_id: str, suite: Suite) -> list[str]:
    """Capsules whose content changed since the run was planned (a resume then mixes versions)."""
    changed = []
    for row in unfinished_capsule_hashes(store, run_id):
        try:
            if suite.load(row["capsule_id"]).content_hash() != row["capsule_hash"]:
                changed.append(row["capsule_id"])
        except UserError:
            changed.append(row["capsule_id"])
    return changed

