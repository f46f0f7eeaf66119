"""What the driver gives each worker of a run: its services, passed in, never kept in module globals.

A worker (running/task.py) needs four things from the run around it:

- cancellation: an Event set once the run is stopped (Ctrl-C, SIGTERM, a takeover); the worker
  starts nothing more and a retry's wait ends at once;
- build notes: where the lines of an image build on its way go (the driver's Progress.note);
- a usage sink: each metered model call, the moment it returns, so a killed process loses no
  record of spend;
- the cleanup registry: where a task hands its cleanup (container removal, model shutdown,
  scratch folder) so the driver can grade meanwhile and wait for it before the run returns;

plus the build locks, so repeats of one capsule build its image once per process.

In-process (executors/local.py) every worker thread gets the driver's own `WorkerServices`: the
cancellation the driver sets, its Progress.note, its usage journal (store/usage_journal.py) and
its cleanup threads. A worker in another process (executors/ray_executor.py) cannot be given
those: the executor ships `services.elsewhere()`, plain data, and in the worker's process calls
`attach(link)` with its link to the driver. There, cancellation is the link's Event (the executor
sets it when the run stops), build notes and usage calls are messages the link carries back
(`BuildNote`, `UsageCall`), which the driver hands to `deliver` as they arrive: the driver writes
each usage row, the worker never writes the store. Cleanups run before the worker returns (Ray
may end its process as soon as the driver has the result).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from corebench_runner.executors import DriverLink
from corebench_runner.records import Usage
from corebench_runner.running.cleanup import CleanupThreads

# Writes one model call of a task (task id, model spec, usage); True once it is in the store.
UsageSink = Callable[[int, str, Usage], bool]


@dataclass(frozen=True)
class BuildNote:
    """A line of an image build on a worker's way, for the driver's Progress."""

    text: str


@dataclass(frozen=True)
class UsageCall:
    """One metered model call of a task, for the driver to write as a usage row."""

    task_id: int
    model: str
    usage: Usage


class BuildLocks:
    """One lock per key (a capsule's environment, an image's agent layer), so concurrent tasks of one
    process build each image once."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())


@dataclass
class WorkerServices:
    cancelled: threading.Event = field(default_factory=threading.Event)
    note_build: Callable[[str], None] | None = None
    record_usage: UsageSink | None = None  # None: nothing keeps calls as they happen (the Attempt carries them)
    cleanups: CleanupThreads = field(default_factory=CleanupThreads)
    build_locks: BuildLocks = field(default_factory=BuildLocks)
    # Calls sent from elsewhere that did not reach the store, by task (the driver's side of deliver).
    _missed: dict[int, list[UsageCall]] = field(default_factory=dict, init=False, repr=False)

    def cancel(self) -> None:
        """The run stopped: its workers in this process start nothing more."""
        self.cancelled.set()

    def elsewhere(self) -> "RemoteServices":
        """A picklable stand-in for a worker in another process (executors/ray_executor.py)."""
        return RemoteServices(notes=self.note_build is not None, usage=self.record_usage is not None)

    def deliver(self, message: Any) -> None:
        """On the driver: act on what a worker elsewhere sent through its link, as it arrives."""
        if isinstance(message, UsageCall):
            if self.record_usage is None or not self.record_usage(message.task_id, message.model, message.usage):
                self._missed.setdefault(message.task_id, []).append(message)
        elif isinstance(message, BuildNote):
            if self.note_build is not None and not self.cancelled.is_set():
                self.note_build(message.text)

    def usage_missed(self, task_id: int) -> list[UsageCall]:
        """The calls a worker elsewhere sent for this task that did not reach the store (then forgotten)."""
        return self._missed.pop(task_id, [])


@dataclass(frozen=True)
class RemoteServices:
    """The driver's services as a worker in another process receives them: what to send back."""

    notes: bool
    usage: bool

    def attach(self, link: DriverLink) -> WorkerServices:
        """The worker's services over its link to the driver; cleanups run before the worker returns."""

        def note(text: str) -> None:
            link.send(BuildNote(text))

        def record(task_id: int, model: str, usage: Usage) -> bool:
            link.send(UsageCall(task_id, model, usage))
            return True  # the driver writes it; one it could not write makes the Attempt's own usage count

        return WorkerServices(cancelled=link.stopped, note_build=note if self.notes else None,
                              record_usage=record if self.usage else None, cleanups=CleanupThreads(at_once=True))
