"""Executors decide only where a task runs: they take jobs and hand back results as they finish.

An executor knows nothing about capsules or graders. It runs `fn(job)` for each submitted job
with at most `slots` in flight and returns (job, result) pairs in completion order. A job whose
worker died with it (a Ray node lost, a worker process killed) comes back as (job, WorkerLost):
the caller decides whether to run it again.

Executors are plugins (registry.py): a callable (fn, slots, address, on_stop) -> Executor under an entry
point in group `corebench.executors`; local and ray are corebench-runner's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

from corebench_runner import registry
from corebench_runner.errors import UserError

EXECUTORS = tuple(registry.names("executors"))


@dataclass(frozen=True)
class WorkerLost:
    """The result of a job whose worker died before returning: `where` names the node and `why` the error."""

    where: str
    why: str

    @property
    def note(self) -> str:
        return f"{self.where} was lost while running this task ({self.why})"


class Executor(Protocol):
    slots: int

    def submit(self, job: Any) -> None:
        """Start fn(job); the caller never submits more than `slots` jobs at once."""

    def next_result(self) -> tuple[Any, Any]:
        """Block until a submitted job finishes; return (job, fn(job)), or (job, WorkerLost) when its worker
        died. Exceptions from fn propagate."""

    def in_flight(self) -> int: ...

    def on_every_node(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        """Run fn(*args) once on every machine that runs tasks (e.g. to clean up there); their results."""

    def stop_workers(self) -> None:
        """Tell every running job, wherever it runs, that the run stopped: on_stop(job) runs beside it."""

    def drain(self, seconds: float) -> list[tuple[Any, Any]]:
        """The (job, result) pairs of running jobs that return within `seconds` (after stop_workers)."""

    def close(self) -> None:
        """Stop waiting for what is still running and release resources."""


def make_executor(kind: str, fn: Callable[[Any], Any], slots: int, ray_address: str | None = None,
                  on_stop: Callable[[Any], None] | None = None) -> Executor:
    """on_stop(job): what a worker process does with a running job when the run is stopped (Ctrl-C,
    SIGTERM). The local executor's workers share the driver's process, which stops them itself."""
    if slots < 1:
        raise UserError(f"--concurrency must be at least 1, not {slots}")
    factory = registry.load("executors", kind, flag="--executor")[0]
    return factory(fn, slots, address=ray_address, on_stop=on_stop)
