"""Execute one task on whatever machine an executor chose: workspace -> sandbox -> scaffold -> report.

This is the worker half of a run. It never touches the store and never grades: it returns an
Attempt (the scaffold's submission, report.json as running/outputs.py read it, the produced files as
a tar archive) that travels back to the driver, which grades and records it (see run.py). Everything in a
TaskJob and an Attempt is plain data, so Ray can ship both between nodes. What it needs of the run
around it (cancellation, build notes, the usage sink, the cleanup registry, build locks) comes in
as its WorkerServices (running/services.py), from the executor.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from corebench_runner.agents.contract import Scaffold, load_scaffold
from corebench_runner.capsules import levels
from corebench_runner.capsules.suite import Suite
from corebench_runner.deadline import Deadline
from corebench_runner.errors import UserError
from corebench_runner.models.base import ModelClient
from corebench_runner.models.metered import MeteredModel
from corebench_runner.records import Limits, Outcome, Submission, Usage
from corebench_runner.running import retry, tracing
from corebench_runner.running.cleanup import TaskCleanup
from corebench_runner.running.confidence import read_confidence
from corebench_runner.running.folders import TASK_FOLDER_PREFIX
from corebench_runner.running.outputs import read_outputs
from corebench_runner.running.sandboxing import WATCHDOG_GRACE_SECONDS, open_for, sandbox_spec
from corebench_runner.running.services import WorkerServices
from corebench_runner.sandbox.base import SandboxSpec
from corebench_runner.sandbox.labels import run_labels
from corebench_runner.sandbox.providers import provider_for
from corebench_runner.sandbox.watchdog import Watchdog

# Seconds the engine waits past a task's wall limit before it stops the sandbox itself.
TIMEOUT_GRACE_SECONDS = WATCHDOG_GRACE_SECONDS
# In an Attempt's details: the usage of retried attempts, already added to the submission's usage.
EARLIER_USAGE_KEY = "earlier_attempts_usage"


def stop_task_here(job: "TaskJob") -> None:
    """A stopped run, seen from a worker in another process (a Ray node), whose services' cancellation
    the executor has set: remove this task's containers on this machine, so its scaffold returns at once
    with what it spent. Executors call it beside the task (executors/ray_executor.py)."""
    try:
        provider_for(job.sandbox_kind).cleanup(job.run_id, include_live=True, include_other_hosts=True,
                                               task=str(job.task_id))
    except Exception:  # the engine may be what failed; the driver's cleanup and --resume remain
        pass


class RunCancelled(Exception):
    """The run was stopped: this task must start nothing more."""


STOPPED = "the run was stopped before this task finished"


def _stop_if_cancelled(services: WorkerServices) -> None:
    if services.cancelled.is_set():
        raise RunCancelled(STOPPED)


@dataclass(frozen=True)
class TaskJob:
    """Everything a worker needs to run one task, as plain picklable data."""

    run_id: str
    task_id: int
    capsule_id: str
    repeat: int
    suite_root: str
    level: str
    scaffold: str
    model: str  # model spec, or "none" for scaffolds that need no model
    limits: Limits
    model_base_url: str | None = None
    sandbox_kind: str = "docker"
    allow_no_gpu: bool = False
    infra_retries: int = 2  # extra attempts after an infrastructure failure
    timeout_grace: float = TIMEOUT_GRACE_SECONDS
    verify: bool = False  # re-run the agent's reproduce.sh in a fresh sandbox after the task (running/verify.py)
    earlier_failures: tuple[str, ...] = ()  # attempts whose worker died with them (a lost Ray node)


@dataclass
class Attempt:
    """What a worker sends back: the submission plus what it found in the sandbox."""

    job: TaskJob
    submission: Submission
    report_state: str = "missing"  # ok | missing | invalid | unread
    report: dict[str, Any] | None = None
    report_raw: str | None = None
    report_problem: str = ""  # why report.json cannot be graded (running/outputs.py)
    results_tar: bytes | None = None
    infra_attempts: int = 1
    details: dict[str, Any] = field(default_factory=dict)
    usage_live: bool = False  # every model call of the task is already a usage row (store/usage_journal.py)
    recipe: bytes | None = None  # the agent's /workspace/reproduce.sh, kept for `corebench verify RUN`


@dataclass
class Prepared:
    """What a task needs once it can run here: from _prepare to _in_sandbox."""

    capsule: Any
    scaffold: Scaffold
    limits: Limits
    spec: SandboxSpec
    details: dict[str, Any]


def execute_task(job: TaskJob, services: WorkerServices | None = None) -> Attempt:
    """Run one task, retrying infrastructure failures up to job.infra_retries times.

    Each retry waits (retry.backoff_seconds), and while the sandbox's engine does not answer the task
    waits for it (its provider's outage()) rather than failing. What retried attempts spent on the
    model is charged to the task too: a failed attempt's tokens were billed all the same.
    services: the run's (running/services.py); without them, the task runs alone (nothing journals its calls).
    """
    services = services or WorkerServices()
    now = time.monotonic()
    tracing.mark(job.task_id, "started", now, now)
    tries = 1 + max(0, job.infra_retries)
    failures: list[str] = list(job.earlier_failures)
    earlier = Usage()  # spent by attempts that did not count
    journal = _Journal(job, services)
    provider = provider_for(job.sandbox_kind)
    for attempt_no in range(1, tries + 1):
        if attempt_no > 1:
            services.cancelled.wait(retry.backoff_seconds(attempt_no - 1))
        if services.cancelled.is_set():
            return _infra_attempt(job, STOPPED, attempt_no, failures, earlier, journal)
        outage = provider.outage(stop=services.cancelled)
        if outage is not None:
            failures.append(outage)
            return _infra_attempt(job, failures[-1], attempt_no, failures, earlier, journal)
        if attempt_no > 1 or job.earlier_failures:  # a lost node's attempt may have left its container here
            _remove_earlier_attempt(provider, job)
        spent = Usage()  # this attempt's model calls, metered outside the scaffold
        try:
            attempt = _execute_once(job, services, spent, journal)
        except RunCancelled as exc:
            earlier.add(spent)
            return _infra_attempt(job, str(exc), attempt_no, failures, earlier, journal)
        except UserError as exc:
            earlier.add(spent)
            outage = provider.outage(limit=0)
            if outage is not None:
                failures.append(f"{exc} ({outage})")  # an outage: worth a retry
                continue
            # A problem retrying cannot fix (a failed image build names its log); report it as is.
            return _infra_attempt(job, str(exc), attempt_no, failures + [str(exc)], earlier, journal)
        except Exception as exc:  # Docker died, the API stayed unreachable, a scaffold crashed ...
            failures.append(f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}")
            earlier.add(spent)
            continue
        attempt.infra_attempts = attempt_no
        if attempt.submission.usage.calls > spent.calls:
            journal.complete = False  # calls the meter never saw (e.g. through the relay): not journaled
        if services.cancelled.is_set():
            # Its sandbox was removed under it: what the scaffold made of that says nothing about the agent.
            earlier.add(_spent_by(attempt.submission, spent))
            return _infra_attempt(job, STOPPED, attempt_no, failures, earlier, journal)
        if attempt.submission.outcome == Outcome.INFRA_ERROR and attempt_no < tries:
            failures.append(attempt.submission.error or "the scaffold reported an infrastructure error")
            earlier.add(_spent_by(attempt.submission, spent))
            continue
        if failures:
            attempt.details["earlier_failures"] = failures
        # A scaffold that under-reports its own model calls is charged what the meter saw.
        attempt.submission.usage = replace(_spent_by(attempt.submission, spent))
        attempt.usage_live = journal.complete
        _charge_earlier_attempts(attempt, earlier)
        return attempt
    return _infra_attempt(job, failures[-1].splitlines()[0], tries, failures, earlier, journal)


def _remove_earlier_attempt(provider: Any, job: TaskJob) -> None:
    """What a failed attempt of this task left (its close() may have met an engine that was down)."""
    try:
        provider.cleanup(job.run_id, include_live=True, include_other_hosts=True, task=str(job.task_id))
    except Exception:  # best effort: `corebench clean` and --resume remove what is left
        pass


class _Journal:
    """Hands each metered call to the run's usage sink (its services), which keeps it as it happens."""

    def __init__(self, job: TaskJob, services: WorkerServices) -> None:
        self._job = job
        self._record = services.record_usage
        self.complete = self._record is not None  # every call so far is kept

    def __call__(self, usage: Usage) -> None:
        if self._record is None or not self._record(self._job.task_id, self._job.model, usage):
            self.complete = False


def _spent_by(submission: Submission, metered: Usage) -> Usage:
    """An attempt's usage: the scaffold's own count, unless the meter saw more calls (scaffolds that
    meter themselves, like the command scaffold's relay, make no calls the meter sees)."""
    return metered if metered.calls > submission.usage.calls else submission.usage


def _charge_earlier_attempts(attempt: Attempt, earlier: Usage) -> None:
    if earlier.calls == 0:
        return
    attempt.details[EARLIER_USAGE_KEY] = asdict(earlier)
    attempt.submission.usage.add(earlier)


def _infra_attempt(job: TaskJob, error: str, attempts: int, failures: list[str], spent: Usage,
                   journal: _Journal | None = None) -> Attempt:
    submission = Submission(answers=None, outcome=Outcome.INFRA_ERROR, error=error)
    attempt = Attempt(job=job, submission=submission, report_state="unread", infra_attempts=attempts,
                      details={"failures": failures, "worker": _worker_name()},
                      usage_live=journal is not None and journal.complete)
    _charge_earlier_attempts(attempt, spent)
    return attempt


def lost_worker_attempt(job: TaskJob, note: str) -> Attempt:
    """The Attempt of a task whose worker died with it (its Ray node lost): infra_error, naming where.
    What that worker spent never came back; the driver has only what was journaled."""
    failures = [*job.earlier_failures, note]
    return Attempt(job=job, submission=Submission(answers=None, outcome=Outcome.INFRA_ERROR, error=note),
                   report_state="unread", infra_attempts=len(failures), details={"failures": failures})


def _worker_name() -> str:
    name = f"{socket.gethostname()}:{os.getpid()}"
    ray = sys.modules.get("ray")  # only a Ray worker has it loaded; importing it costs a local task 0.3 s
    if ray is not None and ray.is_initialized():
        return f"{name}:node={ray.get_runtime_context().get_node_id()}"
    return name


def _execute_once(job: TaskJob, services: WorkerServices, spent: Usage, on_call: Any = None) -> Attempt:
    cleanup = TaskCleanup(job.task_id)
    try:
        with tracing.phase(job.task_id, "prepare"):
            prepared = _prepare(job, services)
        if isinstance(prepared, Attempt):
            return prepared
        return _in_sandbox(job, prepared, services, cleanup, spent, on_call)
    finally:
        services.cleanups.hand_over(cleanup)  # container removal and model shutdown: not on the way to the score


def _prepare(job: TaskJob, services: WorkerServices) -> Attempt | Prepared:
    """What the task needs to run here, or the Attempt of a task that cannot run here."""
    from corebench_runner.sandbox.factory import gpu_decision, host_has_gpu

    suite = Suite(Path(job.suite_root))
    capsule = suite.load(job.capsule_id)
    scaffold = load_scaffold(job.scaffold, suite.root)
    details: dict[str, Any] = {"worker": _worker_name(), "scaffold_version": scaffold.version}

    use_gpu, skip_reason = gpu_decision(capsule.gpu, host_has_gpu(job.sandbox_kind), job.allow_no_gpu)
    if skip_reason:
        return Attempt(job=job, submission=Submission(answers=None, outcome=Outcome.SKIPPED, error=skip_reason),
                       report_state="unread", details=details)
    _stop_if_cancelled(services)
    image = _image_for(capsule, scaffold, job, services) if provider_for(job.sandbox_kind).uses_images else "none"
    _stop_if_cancelled(services)  # an image build can take minutes; nothing starts after a Ctrl-C
    details.update(image=image, gpu=use_gpu)
    limits = job.limits
    if limits.wall_seconds is None:
        limits = Limits(max_steps=limits.max_steps, wall_seconds=float(capsule.resources.time_limit),
                        max_tokens=limits.max_tokens, max_cost_usd=limits.max_cost_usd)
    spec = sandbox_spec(capsule, image, run_labels(job.run_id, job.task_id), gpu=use_gpu,
                        wall_seconds=limits.wall_seconds, grace=job.timeout_grace)
    return Prepared(capsule=capsule, scaffold=scaffold, limits=limits, spec=spec, details=details)


def _make_model(job: TaskJob, scaffold: Scaffold, spent: Usage, on_call: Any, cleanup: TaskCleanup,
                deadline: Deadline) -> MeteredModel | None:
    if not scaffold.needs_model:
        return None
    from corebench_runner.models.factory import make_model

    client: ModelClient = make_model(job.model, base_url=job.model_base_url, capsule_id=job.capsule_id)
    model = MeteredModel(client, spent, on_call)
    cleanup.add(model.close)  # its connections, and a scripted model's local server
    model.bind_deadline(deadline)
    return model


def _in_sandbox(job: TaskJob, prepared: Prepared, services: WorkerServices, cleanup: TaskCleanup, spent: Usage,
                on_call: Any) -> Attempt:
    capsule, scaffold, limits, spec = prepared.capsule, prepared.scaffold, prepared.limits, prepared.spec
    details = prepared.details
    tmp = Path(tempfile.mkdtemp(prefix=f"{TASK_FOLDER_PREFIX}{os.getpid()}-"))  # its pid: a killed run's is found
    try:
        workspace = levels.prepare(capsule, job.level, tmp / "workspace")
        started = time.monotonic()
        deadline = Deadline.after(limits.wall_seconds)  # bounds every model call; the sandbox may stop it early
        sandbox, task = open_for(job.sandbox_kind, spec, workspace, deadline, step=lambda name: _step(job, services, name))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    cleanup.add(sandbox.close)
    cleanup.add(sandbox.wait_closed)  # a start still under way closes what it made
    cleanup.add(lambda: shutil.rmtree(tmp, ignore_errors=True))
    model = _make_model(job, scaffold, spent, on_call, cleanup, deadline)  # while the container starts
    watchdog = Watchdog(sandbox, spec.watchdog_seconds, deadline)
    try:
        with tracing.phase(job.task_id, "agent"):
            submission = scaffold.run(task, sandbox, model, limits)
    except Exception:
        if not watchdog.fired:
            raise
        # The scaffold died with its sandbox; what its model calls cost is still known.
        submission = Submission(answers=None, usage=replace(model.spent) if model is not None else Usage())
    finally:
        watchdog.cancel()
    if not submission.seconds:
        submission.seconds = time.monotonic() - started
    if watchdog.fired:
        submission.outcome = Outcome.TIMEOUT
        submission.error = f"stopped by the engine after {limits.wall_seconds:g}s (+{job.timeout_grace:g}s grace)"
        return Attempt(job=job, submission=submission, report_state="unread", details=details)
    if deadline.stopped:  # e.g. the workspace passed its disk limit
        submission.error, submission.outcome = deadline.stopped
    attempt = Attempt(job=job, submission=submission, details=details)
    read_outputs(sandbox, task, attempt, tmp)
    read_confidence(sandbox, task, attempt)  # beside the report, never in it (docs/measures.md)
    if attempt.report_state == "ok" and attempt.report:
        _keep_recipe(job, capsule, spec, sandbox, task, attempt, tmp, limits)
    return attempt


def _keep_recipe(job: TaskJob, capsule: Any, spec: SandboxSpec, sandbox: Any, task: Any, attempt: Attempt,
                 tmp: Path, limits: Limits) -> None:
    """The agent's reproduce.sh, kept; with run --verify, re-run in a fresh sandbox, its verdicts in the details."""
    from corebench_runner.running.verify import RERUN_KEY, recipe_in, verify

    attempt.recipe = recipe_in(sandbox, task.workspace_dir)
    if not job.verify:
        return
    with tracing.phase(job.task_id, "verify"):
        attempt.details[RERUN_KEY] = verify(
            job.sandbox_kind, spec, capsule, job.level, attempt.recipe, attempt.report or {},
            float(limits.wall_seconds or capsule.resources.time_limit), tmp)


@contextlib.contextmanager
def _step(job: TaskJob, services: WorkerServices, name: str) -> Iterator[None]:
    """A step of the sandbox's start, timed; none begins once the run is stopped (Ctrl-C), and one that
    ends after the stop raises, so that what it made (a container) is closed at once."""
    _stop_if_cancelled(services)
    with tracing.phase(job.task_id, name):
        yield
    _stop_if_cancelled(services)


def _image_for(capsule: Any, scaffold: Scaffold, job: TaskJob, services: WorkerServices) -> str:
    from corebench_runner import images
    from corebench_runner.images.build import BuildFailed, builds_heard_by
    from corebench_runner.images.engine import images_on

    # Every build on the way shows in the run: the capsule's environment, a base image it is
    # built FROM, an agent CLI's layer (built by the scaffold, which has no progress to pass on).
    say = _build_lines(services, capsule.id)
    locks = services.build_locks
    with builds_heard_by(say), images_on(job.sandbox_kind):
        try:
            if scaffold.always_uses_capsule_environment or job.level == "medium":
                # Repeats of one capsule start together: build its image once, not once per thread.
                with locks.lock_for(capsule.id):
                    image = images.environment_image(capsule)
            else:
                image = images.toolbox_image()
            with locks.lock_for(f"layer:{image}"):  # e.g. an agent CLI's layer, built once for concurrent tasks
                return scaffold.image_for(image)
        except BuildFailed as exc:
            if say is not None:
                say(str(exc))  # names the log; the task itself ends infra_error
            raise


def _build_lines(services: WorkerServices, capsule_id: str) -> Callable[[str], None] | None:
    """What a build on a task's way prints (its start, steps and end, as `images build` shows them), sent to
    the run's Progress; step lines name the capsule, since builds of several capsules may interleave."""
    note = services.note_build
    if note is None:
        return None

    def say(text: str) -> None:
        if services.cancelled.is_set():
            return  # stopped: the bar is closed and the process is ending
        note(f"  {capsule_id}: {text.strip()}" if text.startswith(" ") else text)

    return say
