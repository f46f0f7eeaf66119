"""The Ray executor: tasks run on the nodes of a Ray cluster; results come back to the driver.

Nodes that can run containers advertise a custom resource named "docker" (start them with
`ray start --resources '{"docker": 4}'`); when any node does, every task asks for one unit of
it, so tasks land only on nodes with Docker and at most that many run per node. Without such
a node, tasks are scheduled by CPU like any Ray task.
"""

from __future__ import annotations

import socket
from typing import Any, Callable

from corebench_runner.errors import UserError

DOCKER_RESOURCE = "docker"
# A Ray instance started by us is small: the object store carries only results and tarballs.
LOCAL_OBJECT_STORE_BYTES = 200 * 1024 * 1024


class RayExecutor:
    def __init__(self, fn: Callable[[Any], Any], slots: int, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise UserError("--executor ray needs Ray: pip install 'corebench-runner[ray]'") from None
        self._ray = ray
        self.slots = slots
        self._started_here = False
        if not ray.is_initialized():
            if address:
                _check_reachable(address)
            try:
                if address:
                    ray.init(address=address, log_to_driver=False)
                else:
                    ray.init(include_dashboard=False, log_to_driver=False,
                             object_store_memory=LOCAL_OBJECT_STORE_BYTES)
            except (ConnectionError, RuntimeError) as exc:
                raise UserError(f"--ray-address {address}: cannot join the Ray cluster ({exc}); "
                                "check the address printed by `ray start --head`") from None
            self._started_here = True
        options: dict[str, Any] = {"max_retries": 0}
        self._docker_nodes_only = bool(ray.cluster_resources().get(DOCKER_RESOURCE))
        if self._docker_nodes_only:
            options.update(num_cpus=0, resources={DOCKER_RESOURCE: 1})
        else:
            options.update(num_cpus=1)
        self._remote = ray.remote(**options)(fn)
        self._running: dict[Any, Any] = {}

    def submit(self, job: Any) -> None:
        self._running[self._remote.remote(job)] = job

    def in_flight(self) -> int:
        return len(self._running)

    def next_result(self) -> tuple[Any, Any]:
        if not self._running:
            raise RuntimeError("next_result() with nothing submitted")
        ready, _ = self._ray.wait(list(self._running), num_returns=1)
        ref = ready[0]
        job = self._running.pop(ref)
        return job, self._ray.get(ref)

    def on_every_node(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        """One run of fn(*args) pinned to each live node that tasks may land on."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        nodes = [n["NodeID"] for n in self._ray.nodes() if n.get("Alive")
                 and (not self._docker_nodes_only or n.get("Resources", {}).get(DOCKER_RESOURCE))]
        remote = self._ray.remote(num_cpus=0, max_retries=0)(fn)
        refs = [remote.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(*args)
                for node in nodes]
        return self._ray.get(refs)

    def close(self) -> None:
        for ref in list(self._running):
            self._ray.cancel(ref)  # not forced: the task's finally still closes its sandbox
        self._running.clear()
        if self._started_here:
            self._ray.shutdown()


def _check_reachable(address: str) -> None:
    """Fail in seconds, not minutes, when nothing listens at HOST:PORT (ray.init keeps retrying)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise UserError(f"--ray-address {address}: nothing answers there ({exc.strerror or exc}); "
                        "check the address printed by `ray start --head`") from None


def ray_executor(fn: Callable[[Any], Any], slots: int, address: str | None = None) -> RayExecutor:
    """The `ray` executor plugin (entry point): the cluster at `address`, or a local one started here."""
    return RayExecutor(fn, slots, address=address)
