"""The local executor: a bounded pool of threads on this machine.

Threads suffice because a task spends its time waiting on Docker and on the model API; the
work itself happens in containers. Every thread gets the driver's own services object (one
cancellation, the run's Progress, its usage journal and cleanup threads): nothing travels.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Callable


class LocalExecutor:
    def __init__(self, fn: Callable[[Any, Any], Any], slots: int, services: Any = None) -> None:
        self.slots = slots
        self._fn = fn
        self._services = services
        self._pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="corebench-task")
        self._running: dict[Future, Any] = {}

    def submit(self, job: Any) -> None:
        self._running[self._pool.submit(self._fn, job, self._services)] = job

    def in_flight(self) -> int:
        return len(self._running)

    def next_result(self) -> tuple[Any, Any]:
        if not self._running:
            raise RuntimeError("next_result() with nothing submitted")
        done, _ = wait(list(self._running), return_when=FIRST_COMPLETED)
        future = next(iter(done))
        job = self._running.pop(future)
        return job, future.result()

    def on_every_node(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        return [fn(*args)]  # this machine is the only one

    def stop_workers(self) -> None:
        pass  # the workers are threads of the driver, whose services' cancellation reaches them directly

    def drain(self, seconds: float) -> list[tuple[Any, Any]]:
        return []  # their model calls are already in the store, one row each (store/usage_journal.py)

    def close(self) -> None:
        # Running tasks finish in their threads (their sandboxes close themselves); queued ones are dropped.
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._running.clear()


def local_executor(fn: Callable[[Any, Any], Any], slots: int, address: str | None = None,
                   on_stop: Callable[[Any], None] | None = None, services: Any = None) -> LocalExecutor:
    """The `local` executor plugin (entry point): threads on this machine, each given `services` as they are.
    `address` is for cluster executors; `on_stop` too: the local workers share the driver's process, which
    stops them itself."""
    return LocalExecutor(fn, slots, services)
