"""A task's cleanup (container removal, model shutdown, scratch folder) off the path to its score.

Removing a container takes the Docker engine a few tenths of a second, stopping a local model
server a little less: the driver can grade and record the task meanwhile. So a worker hands its
cleanup to a thread of its own and returns. The threads are not daemons and `wait_for_cleanups`
joins them before a run returns, so nothing outlives the run; a process killed meanwhile leaves
only what `corebench clean` and `--resume` remove anyway (labelled containers, scratch folders
named by the dead pid).

In a Ray worker the cleanup runs before the result is returned: Ray may end the worker process
as soon as the driver has its result.
"""

from __future__ import annotations

import sys
import threading
from typing import Callable

from corebench_runner.running import tracing

_pending: set[threading.Thread] = set()
_pending_lock = threading.Lock()


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

    def run_soon(self) -> None:
        """Run in a background thread, unless this process is a Ray worker (then now)."""
        if _in_ray_worker():
            self.run()
            return
        thread = threading.Thread(target=self._run_and_forget, name=f"task-{self.task_id}-cleanup")
        with _pending_lock:
            _pending.add(thread)
        thread.start()

    def _run_and_forget(self) -> None:
        try:
            self.run()
        finally:
            with _pending_lock:
                _pending.discard(threading.current_thread())


def wait_for_cleanups(timeout: float | None = None) -> None:
    """Wait until every task cleanup started by this process has finished."""
    with _pending_lock:
        threads = list(_pending)
    for thread in threads:
        thread.join(timeout)


def _in_ray_worker() -> bool:
    ray = sys.modules.get("ray")  # never imported here: a local run must not pay for Ray
    if ray is None:
        return False
    try:
        return bool(ray.is_initialized())  # tasks run in this process only in Ray's workers
    except Exception:
        return True  # unsure: clean up before returning, the safe way
