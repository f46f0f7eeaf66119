"""A task's cleanup (container removal, model shutdown, scratch folder) off the path to its score.

Removing a container takes the Docker engine a few tenths of a second, stopping a local model
server a little less: the driver can grade and record the task meanwhile. So a worker hands its
cleanup to the run's `CleanupThreads` (one of its services, running/services.py), which runs it in
a thread of its own. The threads are not daemons and the driver waits for them before a run
returns, so nothing outlives the run; a process killed meanwhile leaves only what `corebench
clean` and `--resume` remove anyway (labelled containers, scratch folders named by the dead pid).

A worker in another process (a Ray worker) gets `CleanupThreads(at_once=True)`: its cleanup runs
before the result is returned, since Ray may end the worker process as soon as the driver has it.
"""

from __future__ import annotations

import threading
from typing import Callable

from corebench_runner.running import tracing


class TaskCleanup:
    """Steps to undo, run in the order added, each on its own (one failing does not stop the rest)."""

    def __init__(self, task_id: int) -> None:
        self.task_id = task_id
        self._steps: list[Callable[[], None]] = []

    def add(self, step: Callable[[], None]) -> None:
        self._steps.append(step)

    def run(self) -> None:
        with tracing.phase(self.task_id, "cleanup"):
            for step in self._steps:
                try:
                    step()
                except Exception:  # best effort: `corebench clean` and --resume remove what is left
                    pass
            self._steps.clear()


class CleanupThreads:
    """The cleanups a run's workers handed over, each in a thread of its own (at_once: run by the caller)."""

    def __init__(self, at_once: bool = False) -> None:
        self.at_once = at_once
        self._pending: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def hand_over(self, cleanup: TaskCleanup) -> None:
        if self.at_once:
            cleanup.run()
            return
        thread = threading.Thread(target=self._run_and_forget, args=(cleanup,), name=f"task-{cleanup.task_id}-cleanup")
        with self._lock:
            self._pending.add(thread)
        thread.start()

    def _run_and_forget(self, cleanup: TaskCleanup) -> None:
        try:
            cleanup.run()
        finally:
            with self._lock:
                self._pending.discard(threading.current_thread())

    def wait(self, timeout: float | None = None) -> None:
        """Until every cleanup handed over so far has finished."""
        with self._lock:
            threads = list(self._pending)
        for thread in threads:
            thread.join(timeout)
