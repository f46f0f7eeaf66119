"""A real two-node Ray cluster on this machine, started as a user would: `ray start --head` and
`ray start --address`, each with its own free ports and temp folder, so that several clusters
(other tests, other users of the machine) never meet. Ray turns 127.0.0.1 into the machine's own
address (services.resolve_ip_for_localhost), so the nodes listen there. Token authentication is
off (RAY_AUTH_MODE=disabled in every process of the test, drivers included).

Each node is one `ray start --block` process; its Ray processes are its children. Stopping the
cluster ends exactly those processes (never `ray stop`, which ends every Ray on the machine), and
`kill_raylet` SIGKILLs one node's raylet, as a machine lost mid-run looks to the rest.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

RAY = Path(sys.executable).parent / "ray"
NODE_OBJECT_STORE_BYTES = 80 * 1024 * 1024
# A lost node is noticed within seconds, not the default half a minute.
FAST_HEALTH_CHECKS = {"health_check_period_ms": 1000, "health_check_failure_threshold": 3,
                      "health_check_initial_delay_ms": 1000}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RayNode:
    name: str
    process: subprocess.Popen
    log: Path
    pids: set[int] = field(default_factory=set)

    def ray_processes(self) -> list[psutil.Process]:
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        for child in children:
            self.pids.add(child.pid)
        return children

    def raylet(self) -> psutil.Process:
        for child in self.ray_processes():
            try:
                if "raylet" in child.name():
                    return child
            except psutil.NoSuchProcess:
                continue
        raise AssertionError(f"no raylet under ray start of node {self.name}; see {self.log}")


@dataclass
class RayCluster:
    address: str
    temp_dir: Path
    env: dict[str, str]
    head: RayNode
    worker: RayNode

    def node_ids(self) -> dict[str, str]:
        """{"head": NodeID, "worker": NodeID}, read from each node's raylet command line."""
        ids = {}
        for node in (self.head, self.worker):
            for arg in node.raylet().cmdline():
                if arg.startswith("--node_id="):
                    ids[node.name] = arg.partition("=")[2]
        return ids

    def kill_raylet(self, node: RayNode) -> None:
        node.ray_processes()  # remember every pid before the kill, so stop() can end what is left
        node.raylet().send_signal(signal.SIGKILL)

    def restart_worker(self) -> None:
        """A new worker node in place of the old one (whose raylet a test killed)."""
        _end_node(self.worker)
        self.worker = _started_node("worker", ["--address", self.address], self.env, self.temp_dir)
        _wait_for_docker_nodes(self.address, 2, self.env)

    def stop(self) -> None:
        for node in (self.worker, self.head):
            _end_node(node)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def _start_node(name: str, args: list[str], env: dict[str, str], temp_dir: Path) -> RayNode:
    log = temp_dir / f"ray-start-{name}-{secrets.token_hex(2)}.log"  # removed with the cluster
    ports = ["--node-manager-port", str(_free_port()), "--object-manager-port", str(_free_port()),
             "--dashboard-agent-listen-port", str(_free_port()), "--dashboard-agent-grpc-port", str(_free_port()),
             "--runtime-env-agent-port", str(_free_port()), "--metrics-export-port", str(_free_port())]
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(RAY), "start", "--block", "--num-cpus", "1",
             "--resources", json.dumps({"docker": 1}), "--object-store-memory", str(NODE_OBJECT_STORE_BYTES),
             "--disable-usage-stats", "--temp-dir", str(temp_dir), *ports, *args],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return RayNode(name=name, process=process, log=log)


def start_two_node_cluster(env_extra: dict[str, str]) -> RayCluster:
    """Head and worker, one CPU and one "docker" slot each, on loopback ports; returns once both are up."""
    temp_dir = Path("/tmp") / f"rc-{secrets.token_hex(4)}"  # short: Ray's socket paths must fit 107 bytes
    temp_dir.mkdir()
    env = {**os.environ, "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0", "RAY_USAGE_STATS_ENABLED": "0",
           "RAY_AUTH_MODE": "disabled", **env_extra}
    port = _free_port()
    from ray.util import get_node_ip_address

    address = f"{get_node_ip_address()}:{port}"
    head = _started_node("head", ["--head", "--port", str(port), "--include-dashboard", "false",
                                  "--ray-client-server-port", str(_free_port()),
                                  "--system-config", json.dumps(FAST_HEALTH_CHECKS)], env, temp_dir)
    worker = None
    try:
        worker = _started_node("worker", ["--address", address], env, temp_dir)
        _wait_for_docker_nodes(address, 2, env)
    except BaseException:
        RayCluster(address, temp_dir, env, head, worker or head).stop()
        raise
    return RayCluster(address=address, temp_dir=temp_dir, env=env, head=head, worker=worker)


def _started_node(name: str, args: list[str], env: dict[str, str], temp_dir: Path, tries: int = 3) -> RayNode:
    """A node that started; on a loaded machine Ray's own 30 s wait for its raylet may run out: then again."""
    for attempt in range(1, tries + 1):
        node = _start_node(name, args, env, temp_dir)
        try:
            _wait_for_start(node)
            return node
        except AssertionError:
            _end_node(node)
            if attempt == tries:
                raise
    raise AssertionError("unreachable")


def _end_node(node: RayNode) -> None:
    node.ray_processes()
    if node.process.poll() is None:
        node.process.send_signal(signal.SIGTERM)
    try:
        node.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        node.process.kill()
    for pid in node.pids:  # what the node's own teardown left
        try:
            psutil.Process(pid).kill()
        except psutil.NoSuchProcess:
            pass


def _wait_for_start(node: RayNode, timeout: float = 300) -> None:
    """Until `ray start` says the node runs (a busy 2-core machine may take a minute or more)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if "Ray runtime started" in node.log.read_text(errors="replace"):
            return
        if node.process.poll() is not None:
            break
        time.sleep(0.5)
    raise AssertionError(f"ray start of node {node.name} did not start: {node.log.read_text()[-2000:]}")


def _wait_for_docker_nodes(address: str, count: int, env: dict[str, str], timeout: float = 180) -> None:
    """Until the cluster has `count` live nodes with a "docker" slot each (asked by a driver of its own)."""
    probe = ("import ray, sys, time; ray.init(address=sys.argv[1], log_to_driver=False)\n"
             "while sum(1 for n in ray.nodes() if n['Alive'] and n['Resources'].get('docker')) < int(sys.argv[2]):\n"
             "    time.sleep(0.5)\n")
    result = subprocess.run([sys.executable, "-c", probe, address, str(count)], env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-2000:]
