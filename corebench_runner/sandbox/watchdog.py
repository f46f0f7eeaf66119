"""The engine's last word on time: close a sandbox whose work overruns its spec's watchdog_seconds.

A scaffold (or a capsule's reproduction) is given a wall limit it should keep itself; when it does
not, the watchdog stops the task's deadline (so model calls end too) and closes the sandbox, and
whatever was running there fails. The caller sees `fired` and records a timeout.
"""

from __future__ import annotations

import threading

from corebench_runner.deadline import Deadline
from corebench_runner.records import Outcome
from corebench_runner.sandbox.base import Sandbox


class Watchdog:
    def __init__(self, sandbox: Sandbox, seconds: float | None, deadline: Deadline) -> None:
        """Starts at once; seconds=None never fires."""
        self.fired = False
        self._sandbox = sandbox
        self._deadline = deadline
        self._timer = threading.Timer(seconds, self._fire) if seconds else None
        if self._timer:
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        self._deadline.stop("stopped by the engine's watchdog", Outcome.TIMEOUT)  # the scaffold's model calls end too
        try:
            self._sandbox.close()
        except Exception:  # the sandbox may already be gone; closing is best effort here
            pass

    def cancel(self) -> None:
        if self._timer:
            self._timer.cancel()
            self._timer.join()  # if it fired, wait until the sandbox is really gone

    def __enter__(self) -> "Watchdog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()
