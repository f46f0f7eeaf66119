"""Containers a killed run left behind: found by their labels, removed when their owner is gone.

A container's owner labels (labels.py) say which process on which host started it. One whose
process is gone is a leftover; one of a live process here is kept unless the caller includes live
ones (a run being stopped, `clean --include-live`).
"""

from __future__ import annotations

import docker.errors

from corebench_runner.sandbox import firewall, labels
from corebench_runner.sandbox.base import Leftovers
from corebench_runner.sandbox.engine import docker_client


def managed_containers(run_id: str | None = None, task: str | None = None) -> list:
    """Every corebench container on the engine (of one run, or one task of it)."""
    wanted = [f"{labels.MANAGED_LABEL}=1"]
    if run_id:
        wanted.append(f"{labels.RUN_LABEL}={run_id}")
    if run_id and task is not None:
        wanted.append(f"{labels.TASK_LABEL}={task}")
    # ignore_removed: another cleaner (a Ray node on this host, a second `corebench clean`) may
    # remove a container between the listing and its inspection.
    return docker_client().containers.list(all=True, filters={"label": wanted}, ignore_removed=True)


def remove_leftovers(run_id: str | None = None, include_live: bool = False, task: str | None = None,
                     dry_run: bool = False) -> Leftovers:
    """Remove leftover corebench containers (none in a dry run); says what went."""
    remove = [c for c in managed_containers(run_id, task)
              if include_live or labels.owner_state(c.labels) != labels.LIVE]
    found = Leftovers()
    if dry_run:
        found.removed = [c.name for c in remove]
        return found
    for container in remove:
        try:
            container.remove(force=True, v=True)
            found.removed.append(container.name)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: another cleaner (a Ray node on this host) is removing it
                raise
    firewall.prune()  # the relay rules of containers that are gone
    return found
