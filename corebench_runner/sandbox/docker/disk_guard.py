"""Keep what a task writes within its disk limit (the capsule's `resources.disk`).

This engine's storage driver is overlay2 on ext4, where Docker cannot give a container a size
quota (`--storage-opt size` needs overlay2 on xfs mounted with pquota), and a tmpfs would hold
the workspace in memory. So a watcher measures usage (`du`, blocks really used) every
POLL_SECONDS: the container's own overlay layer on the host (everything it wrote, the workspace
included; cheap, since only written files are there) when the runner can read it, else the
workspace inside the container. Past the limit it calls `on_exceeded`, which stops the task. An
agent can write past the limit for at most one interval before it is stopped.
"""

from __future__ import annotations

import os
import subprocess
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


def layer_bytes(path: str) -> int | None:
    """Bytes used under a host folder (the container's overlay layer), or None when du cannot tell."""
    done = subprocess.run(["du", "-skx", path], capture_output=True, text=True, timeout=120)
    first = done.stdout.split()[:1]
    return int(first[0]) * 1024 if first and first[0].isdigit() else None


def usage_measure(container_attrs: dict, workdir: str, du_in_container: Callable[[str], str]
                  ) -> tuple[Callable[[], int | None], str]:
    """(measure, what it counts): the container's overlay layer when this process can read the
    engine's files (root on the engine's host), else the workdir, measured inside the container."""
    layer = ((container_attrs.get("GraphDriver") or {}).get("Data") or {}).get("UpperDir")
    if layer and os.access(layer, os.R_OK | os.X_OK):
        return (lambda: layer_bytes(layer)), "written in the container (the workspace, /tmp, installed packages)"

    def workspace_bytes() -> int | None:
        used = du_in_container(workdir).strip()
        return int(used) * 1024 if used.isdigit() else None

    return workspace_bytes, f"in {workdir}"


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
