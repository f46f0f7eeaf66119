"""The labels on everything corebench starts, and what the owner labels say about a sandbox's owner.

Every sandbox carries the run (and task) it belongs to, so that a run's leftovers can be found,
plus the host and pid of the process that started it, so that `corebench clean` can tell a killed
run's leftovers from a live run's sandboxes. Only this host's processes can be checked: a sandbox
started from another host (one engine shared through a remote DOCKER_HOST or a mounted socket) may
belong to a process that still runs there, so it is nobody's to remove unless the user says so.
"""

from __future__ import annotations

import os
import socket

MANAGED_LABEL = "corebench.managed"
RUN_LABEL = "corebench.run"
TASK_LABEL = "corebench.task"
OWNER_HOST_LABEL = "corebench.owner_host"
OWNER_PID_LABEL = "corebench.owner_pid"

# What owner_state says about a sandbox's owner.
LIVE = "live"  # its process runs on this host
GONE = "gone"  # its process was on this host and is gone: a leftover
ELSEWHERE = "elsewhere"  # started from another host (or by a version that did not say): cannot be checked


def run_labels(run_id: str, task: str | int | None = None) -> dict[str, str]:
    """The labels of a run's sandbox (a check or a reproduction names itself as its run)."""
    labels = {RUN_LABEL: run_id}
    if task is not None:
        labels[TASK_LABEL] = str(task)
    return labels


def owner_labels() -> dict[str, str]:
    """Who starts the sandbox: this host and this process."""
    return {MANAGED_LABEL: "1", OWNER_HOST_LABEL: socket.gethostname(), OWNER_PID_LABEL: str(os.getpid())}


def started_here(labels: dict[str, str] | None) -> bool:
    """Whether this very process started the sandbox."""
    mine = owner_labels()
    return all((labels or {}).get(name) == mine[name] for name in (OWNER_HOST_LABEL, OWNER_PID_LABEL))


def owner_state(labels: dict[str, str] | None) -> str:
    """LIVE, GONE or ELSEWHERE, from a sandbox's owner labels."""
    labels = labels or {}
    if labels.get(OWNER_HOST_LABEL) != socket.gethostname():
        return ELSEWHERE
    try:
        os.kill(int(labels.get(OWNER_PID_LABEL, "")), 0)
        return LIVE
    except (ValueError, ProcessLookupError):
        return GONE
    except PermissionError:
        return LIVE  # the process exists, it is just not ours to signal
