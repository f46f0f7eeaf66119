"""A Docker engine of the test's own, to kill and restart: dockerd on its own socket, with its data
root, exec root and bridge in a temp folder, holding one small base image copied from the main
engine (`docker save | docker load`). Needs root and dockerd, as the main engine does."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from corebench_runner.sandbox.docker import firewall

SMALL_IMAGE = "corebench/base:bookworm"


class OwnEngine:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.bridge = "cbt" + secrets.token_hex(3)
        self._process: subprocess.Popen | None = None
        self._log = open(root / "dockerd.log", "ab")

    def start(self) -> None:
        self._process = subprocess.Popen(
            ["dockerd", "--host", self.host, "--data-root", str(self.root / "data"), "--exec-root",
             str(self.root / "exec"), "--pidfile", str(self.root / "dockerd.pid"), "--bridge", self.bridge,
             "--iptables=false", "--ip6tables=false", "--ip-masq=false"],
            stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.docker("info", check=False).returncode == 0:
                return
            if self._process.poll() is not None:
                pytest.fail(f"dockerd exited: {(self.root / 'dockerd.log').read_text()[-2000:]}")
            time.sleep(0.2)
        pytest.fail("dockerd did not answer within 60 s")

    def kill(self) -> None:
        """The engine goes away at once (SIGKILL), as in a crash."""
        assert self._process is not None
        self._process.send_signal(signal.SIGKILL)
        self._process.wait(timeout=30)

    def docker(self, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "-H", self.host, *args], capture_output=True, text=True, check=check, **kwargs)

    def containers(self, label: str) -> list[str]:
        return self.docker("ps", "-a", "-q", "--filter", f"label={label}").stdout.split()

    def load(self, image: str) -> None:
        saved = subprocess.Popen(["docker", "-H", "unix:///var/run/docker.sock", "save", image], stdout=subprocess.PIPE)
        subprocess.run(["docker", "-H", self.host, "load"], stdin=saved.stdout, capture_output=True, check=True)
        assert saved.wait() == 0

    def _end_orphaned_shims(self) -> None:
        """Containers of an engine killed mid-test keep running under their shims (the shims outlive dockerd
        and the restarted engine does not take them back): end each shim of this engine and its container."""
        shims = subprocess.run(["pgrep", "-f", f"{self.root}/exec/containerd/containerd.sock"],
                               capture_output=True, text=True).stdout.split()
        for shim in shims:
            subprocess.run(["pkill", "-KILL", "-P", shim], capture_output=True)  # the container's first process
            subprocess.run(["kill", "-KILL", shim], capture_output=True)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            ids = self.docker("ps", "-a", "-q", check=False).stdout.split()
            if ids:
                self.docker("rm", "-f", *ids, check=False)
            # The runner made its task network on this engine too; removing it takes its Linux bridge
            # and the firewall's INPUT rule for that bridge off the host.
            bridge = self.docker("network", "inspect", firewall.TASK_NETWORK, "--format",
                                 '{{index .Options "com.docker.network.bridge.name"}}', check=False).stdout.strip()
            self.docker("network", "rm", firewall.TASK_NETWORK, check=False)
            if bridge:
                subprocess.run(["iptables", "-w", "10", "-D", "INPUT", "-i", bridge, "-j", firewall.CHAIN],
                               capture_output=True)
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._log.close()
        self._end_orphaned_shims()
        subprocess.run(["umount", "-R", str(self.root / "data")], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def own_engine(tmp_path_factory):
    if os.geteuid() != 0 or shutil.which("dockerd") is None:
        pytest.skip("a Docker engine of the test's own needs root and dockerd")
    # A short path: the engine's sockets live under it (unix socket paths are limited to 108 bytes).
    root = Path(tmp_path_factory.mktemp("eng", numbered=True))
    bridge_made = False
    engine = OwnEngine(root)
    try:
        subprocess.run(["ip", "link", "add", engine.bridge, "type", "bridge"], check=True)
        bridge_made = True
        subprocess.run(["ip", "addr", "add", f"10.{200 + secrets.randbelow(50)}.{secrets.randbelow(250)}.1/24",
                        "dev", engine.bridge], check=True)
        subprocess.run(["ip", "link", "set", engine.bridge, "up"], check=True)
        engine.start()
        engine.load(SMALL_IMAGE)
        yield engine
    finally:
        if bridge_made:
            engine.stop()
