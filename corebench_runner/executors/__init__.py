"""Executors decide only where a task runs: they take jobs and hand back results as they finish.

An executor knows nothing about capsules or graders. It runs `fn(job, services)` for each submitted
job with at most `slots` in flight and returns (job, result) pairs in completion order. A job whose
worker died with it (a Ray node lost, a worker process killed) comes back as (job, WorkerLost):
the caller decides whether to run it again.

`services` are what the driver gives its workers (running/services.py's WorkerServices); an
executor only carries them. One running fn in the driver's process gets the object itself; one in
another process gets `services.elsewhere().attach(link)`, where the link (`DriverLink`) is the
executor's own way back to the driver: an Event it sets once the run is stopped, and `send`, whose
messages the driver hands to `services.deliver(message)` as they arrive, each job's all before its
result is returned.

Executors are plugins (registry.py): a callable (fn, slots, address, on_stop, services) -> Executor under
an entry point in group `corebench.executors`; local and ray are corebench-runner's own.
"""

from __future__ import annotations

import threading
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


class DriverLink(Protocol):
    """A worker's way back to its driver, from another process."""

    stopped: threading.Event  # set in the worker's process once the run is stopped

    def send(self, message: Any) -> None:
        """Deliver `message` to the driver's services.deliver, in order, soon."""


class Services(Protocol):
    """What executors need of the driver's services: a stand-in to ship, and the delivery of what comes back."""

    def elsewhere(self) -> Any:
        """A picklable stand-in whose attach(link) gives a worker in another process its services."""

    def deliver(self, message: Any) -> None:
        """On the driver: act on a message a worker elsewhere sent through its link."""


class Executor(Protocol):
    slots: int

    def submit(self, job: Any) -> None:
        """Start fn(job, services); the caller never submits more than `slots` jobs at once."""

    def next_result(self) -> tuple[Any, Any]:
        """Block until a submitted job finishes; return (job, its result), or (job, WorkerLost) when its worker
        died. Exceptions from fn propagate. Messages workers elsewhere sent are delivered meanwhile."""

    def in_flight(self) -> int: ...

    def on_every_node(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        """Run fn(*args) once on every machine that runs tasks (e.g. to clean up there); their results."""

    def stop_workers(self) -> None:
        """Tell every running job in another process that the run stopped: its link's Event is set and
        on_stop(job) runs beside it. (The driver cancels its own services itself.)"""

    def drain(self, seconds: float) -> list[tuple[Any, Any]]:
        """The (job, result) pairs of running jobs that return within `seconds` (after stop_workers);
        messages keep being delivered meanwhile."""

    def close(self) -> None:
        """Stop waiting for what is still running and release resources."""


def make_executor(kind: str, fn: Callable[[Any, Any], Any], slots: int, ray_address: str | None = None,
                  on_stop: Callable[[Any], None] | None = None, services: Services | None = None) -> Executor:
    """fn(job, services) runs each job. on_stop(job): what a worker process does with a running job when
    the run is stopped (Ctrl-C, SIGTERM). The local executor's workers share the driver's process and its
    services, whose cancellation the driver sets itself."""
    if slots < 1:
        raise UserError(f"--concurrency must be at least 1, not {slots}")
    factory = registry.load("executors", kind, flag="--executor")[0]
    return factory(fn, slots, address=ray_address, on_stop=on_stop, services=services)
