"""Containers a killed run left behind: found by their labels, removed when their owner is gone.

A container's owner labels (labels.py) say which process on which host started it. One whose
process is gone from this host is a leftover; one of a live process here is kept unless the
caller includes live ones (a run being stopped, `clean --include-live`). One started from another
host sharing this engine is kept unless the caller includes other hosts: that process cannot be
checked from here, and removing its containers would kill another host's live run.
"""

from __future__ import annotations

import docker.errors

from corebench_runner.sandbox import labels
from corebench_runner.sandbox.base import Leftovers
from corebench_runner.sandbox.docker.engine import DOCKER, Engine


def managed_containers(run_id: str | None = None, task: str | None = None, engine: Engine = DOCKER) -> list:
    """Every corebench container on the engine (of one run, or one task of it)."""
    wanted = [f"{labels.MANAGED_LABEL}=1"]
    if run_id:
        wanted.append(f"{labels.RUN_LABEL}={run_id}")
    if run_id and task is not None:
        wanted.append(f"{labels.TASK_LABEL}={task}")
    # ignore_removed: another cleaner (a Ray node on this host, a second `corebench clean`) may
    # remove a container between the listing and its inspection.
    return engine.client().containers.list(all=True, filters={"label": wanted}, ignore_removed=True)


def sort_out(containers: list, include_live: bool = False, include_other_hosts: bool = False,
             only_this_process: bool = False) -> tuple[list, list]:
    """(to remove, other hosts' containers left alone)."""
    if only_this_process:
        return [c for c in containers if labels.started_here(c.labels)], []
    remove, elsewhere = [], []
    for container in containers:
        state = labels.owner_state(container.labels)
        if state == labels.ELSEWHERE and not include_other_hosts:
            elsewhere.append(container)
        elif state != labels.LIVE or include_live:
            remove.append(container)
    return remove, elsewhere


def remove_leftovers(run_id: str | None = None, include_live: bool = False, include_other_hosts: bool = False,
                     task: str | None = None, dry_run: bool = False, only_this_process: bool = False,
                     engine: Engine = DOCKER) -> Leftovers:
    """Remove leftover corebench containers (none in a dry run); says what went and what stayed."""
    remove, elsewhere = sort_out(managed_containers(run_id, task, engine), include_live, include_other_hosts,
                                 only_this_process)
    found = Leftovers(other_hosts=[_with_host(c) for c in elsewhere])
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
    engine.network.prune()  # the relay rules of containers that are gone
    return found


def _with_host(container) -> str:
    host = (container.labels or {}).get(labels.OWNER_HOST_LABEL) or "an unknown host"
    return f"{container.name} (from {host})"
