"""A task's deadline, shared by everything that can make a task wait: model calls and the sandbox.

The task runner makes one Deadline per attempt (its wall limit) and hands it to the model client
and the sandbox. A model call's HTTP timeout is never longer than the time left, the SDK's
retries stop at the deadline, and a sandbox that stops a task for another reason (its disk
limit) cancels the deadline with that reason, so the scaffold's next model call ends the task.

The SDKs retry every `Exception` raised while sending, so the hook that refuses a request past
the deadline raises `_PastDeadline`, a BaseException (like asyncio's CancelledError) that their
retry loops let through; clients turn it into `DeadlineReached` with `bounded()`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from corebench_runner.records import Outcome

RETRY_AFTER_HEADERS = ("retry-after", "retry-after-ms")


class DeadlineReached(Exception):
    """A model call cannot finish before the task's deadline (or the task was stopped)."""

    def __init__(self, message: str, outcome: Outcome = Outcome.TIMEOUT) -> None:
        super().__init__(message)
        self.outcome = outcome


class _PastDeadline(BaseException):
    """Raised inside an SDK's HTTP layer; a BaseException so that its retry loop does not retry it."""


class Deadline:
    """When a task must end (time.monotonic() seconds, None for never), or a reason it was stopped."""

    def __init__(self, at: float | None = None, wall_seconds: float | None = None) -> None:
        self.at = at
        self.wall_seconds = wall_seconds
        self._stopped: tuple[str, Outcome] | None = None
        self._lock = threading.Lock()

    @classmethod
    def after(cls, seconds: float | None) -> "Deadline":
        return cls(None if seconds is None else time.monotonic() + seconds, seconds)

    def left(self) -> float | None:
        """Seconds left (0 once stopped), or None when there is no deadline."""
        if self._stopped is not None:
            return 0.0
        return None if self.at is None else max(0.0, self.at - time.monotonic())

    def stop(self, reason: str, outcome: Outcome) -> None:
        """End the task now for this reason (the first reason given wins)."""
        with self._lock:
            if self._stopped is None:
                self._stopped = (reason, outcome)

    @property
    def stopped(self) -> tuple[str, Outcome] | None:
        return self._stopped

    def reached(self) -> DeadlineReached | None:
        """The error to end the task with when no time is left, else None."""
        if self._stopped is not None:
            return DeadlineReached(self._stopped[0], self._stopped[1])
        left = self.left()
        if left is not None and left <= 0:
            return DeadlineReached(f"reached the wall-time limit ({self.wall_seconds:g} s) while waiting for the model")
        return None

    def check(self) -> None:
        error = self.reached()
        if error is not None:
            raise error


def http_hooks(current: Callable[[], Deadline]) -> dict[str, list[Callable[[Any], None]]]:
    """httpx event hooks that keep every request of an SDK client inside current()'s deadline.

    Before each request (the SDK's retries included): refuse it when the deadline has passed, else
    cut its connect/read/write/pool timeouts to the time left. After each response: cut a
    retry-after the server asked for to the time left, so the SDK never sleeps past the deadline.
    """

    def before_request(request: Any) -> None:
        deadline = current()
        if deadline.reached() is not None:
            raise _PastDeadline()
        left = deadline.left()
        if left is None:
            return
        timeouts = dict(request.extensions.get("timeout") or {})
        for name in ("connect", "read", "write", "pool"):
            value = timeouts.get(name)
            timeouts[name] = left if value is None else min(value, left)
        request.extensions = {**request.extensions, "timeout": timeouts}

    def after_response(response: Any) -> None:
        left = current().left()
        if left is None or response.status_code < 400:
            return
        for name in RETRY_AFTER_HEADERS:
            if name in response.headers:
                scale = 1000.0 if name.endswith("-ms") else 1.0
                try:
                    asked = float(response.headers[name]) / scale
                except ValueError:  # an HTTP date: replace it by the time left
                    asked = left + 1
                if asked > left:
                    response.headers[name] = f"{left * scale:.3f}"

    return {"request": [before_request], "response": [after_response]}


@contextlib.contextmanager
def bounded(deadline: Deadline) -> Iterator[None]:
    """Around one SDK call: DeadlineReached when the deadline stopped it (or had passed before it)."""
    deadline.check()
    try:
        yield
    except _PastDeadline:
        raise deadline.reached() or DeadlineReached("the task's deadline passed during a model call") from None
    except Exception:
        error = deadline.reached()  # a timeout cut to the time left: the deadline, not the API, ended it
        if error is not None:
            raise error from None
        raise
