"""Keep a task's workspace within its disk limit (the capsule's `resources.disk`).

This engine's storage driver is overlay2 on ext4, where Docker cannot give a container a size
quota (`--storage-opt size` needs overlay2 on xfs mounted with pquota), and a tmpfs would hold
the workspace in memory. So a watcher measures the workspace (`du`, blocks really used) every
POLL_SECONDS; past the limit it calls `on_exceeded`, which stops the task. An agent can write
past the limit for at most one interval before it is stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

POLL_SECONDS = 2.0
UNITS = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
# Kilobytes used under $1 (one file system; what a quota would count), or nothing when unreadable.
USAGE_SCRIPT = 'du -skx "$1" 2>/dev/null | tail -n 1 | cut -f1'


def size_bytes(text: str) -> int:
    """Docker's size syntax ('512m', '10g', '1048576') as bytes."""
    text = text.strip().lower()
    unit = UNITS.get(text[-1:], 1)
    return int(text.rstrip("bkmg")) * unit


def human(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


class DiskGuard:
    """Calls on_exceeded(bytes used) whenever a measure finds more than limit bytes and more than the
    last time it fired (so a task stopped for its disk is stopped again only if it keeps writing)."""

    def __init__(self, measure: Callable[[], int | None], limit: int, on_exceeded: Callable[[int], None],
                 interval: float = POLL_SECONDS) -> None:
        self.limit = limit
        self._measure, self._on_exceeded, self._interval = measure, on_exceeded, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="disk-guard", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        fired_at = 0
        while not self._stop.wait(self._interval):
            try:
                used = self._measure()
            except Exception:  # the container is going away; the sandbox's close() stops us
                continue
            if used is not None and used > max(self.limit, fired_at):
                fired_at = used
                self._on_exceeded(used)

    def close(self) -> None:
        self._stop.set()
