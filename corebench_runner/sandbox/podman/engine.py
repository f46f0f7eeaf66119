"""Podman as a Docker-API engine: its service started on demand, on a socket of the user's own.

Podman has no daemon: `podman system service` answers the Docker API while it is used and ends
itself after IDLE_SECONDS without a request. The first call that needs Podman starts it on a
per-user socket ($XDG_RUNTIME_DIR/corebench/podman.sock, or /run/corebench as root), so root runs
rootful Podman and any other user rootless Podman. $CONTAINER_HOST (Podman's own variable) points at
a service someone else runs instead, and then nothing is started.

What differs from Docker is here: the task network's bridge is read from Podman (its compatible
inspect does not report it) and containers are kept apart by a firewall rule (Podman's bridge has no
enable_icc); a GPU is a CDI device (gpu.py), so such a container is created through Podman's own API
(the compatible create takes a device as a host path); a root filesystem becomes an image with
`podman import` (the compatible API's import does not tag). Podman's settings are its own: containers.conf (or
$CONTAINERS_CONF) is read by the service and the CLI alike.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import docker
import docker.errors
from docker.utils import parse_bytes

from corebench_runner.errors import UserError
from corebench_runner.sandbox.docker.engine import Engine
from corebench_runner.sandbox.docker.firewall import TaskNetwork
from corebench_runner.sandbox.gpu import cdi_names_gpus
from corebench_runner.sandbox.labels import owner_labels

IDLE_SECONDS = 600  # the service ends itself after this long without a request
START_SECONDS = 30.0  # how long a starting service may take to answer
HOST_ENV = "CONTAINER_HOST"
API_VERSION = "1.41"  # the Docker API version Podman 4 answers
LIBPOD_API = "v4.0.0"  # Podman's own API, for what its compatible one cannot say (CDI devices)
# One line for the failure Podman gives on a host where containers cannot set their default rlimits.
ULIMITS_FIX = ("add `[containers]` with `default_ulimits = []` to a file in /etc/containers/containers.conf.d/ "
               "(rootless: ~/.config/containers/containers.conf; scripts/setup.sh writes it)")


def socket_path() -> Path:
    """The per-user socket the runner starts Podman's service on."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "corebench" / "podman.sock"
    if os.geteuid() == 0:
        return Path("/run/corebench/podman.sock")
    return Path(tempfile.gettempdir()) / f"corebench-podman-{os.getuid()}" / "podman.sock"


class PodmanTaskNetwork(TaskNetwork):
    isolate_by_rule = True  # Podman's bridge cannot be told to keep its containers apart

    def bridge(self, client: docker.DockerClient, attrs: dict) -> str:
        done = self.engine.cli("network", "inspect", attrs.get("Name", ""), "--format", "{{.NetworkInterface}}")
        return done.stdout.strip() if done.returncode == 0 else ""


class PodmanEngine(Engine):
    kind = "podman"
    name = "Podman"

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._client: docker.DockerClient | None = None
        self._service: subprocess.Popen | None = None
        self._service_log: Path | None = None

    def url(self) -> str:
        return os.environ.get(HOST_ENV) or f"unix://{socket_path()}"

    def client(self) -> docker.DockerClient:
        """A client of Podman's service, started when it is not running (UserError when it cannot be)."""
        with self._lock:
            if self._client is not None and _pings(self._client):
                return self._client
            if shutil.which("podman") is None and not os.environ.get(HOST_ENV):
                raise UserError("Podman is not installed; install it (`apt-get install podman`, scripts/setup.sh "
                                "does) or use --sandbox docker")
            # The version is given, not asked: a client is made before the service it asks is started.
            client = docker.DockerClient(base_url=self.url(), timeout=300, version=API_VERSION)
            if not _pings(client):
                if os.environ.get(HOST_ENV):
                    raise UserError(f"{self.not_answering()}; {self.fix()}")
                self._start_service()
                deadline = time.monotonic() + START_SECONDS
                while not _pings(client):
                    if time.monotonic() > deadline:
                        raise UserError(f"{self.not_answering()} ({self._service_said() or 'no output'})"
                                        f"; {self.fix()}")
                    time.sleep(0.2)
            if self._client is None:
                self._say_limits_problem(client)
            self._client = client
            return client

    def limits_problem(self, client: docker.DockerClient) -> str | None:
        """Why this Podman cannot enforce a spec's limits, if it cannot: rootless on cgroup v1 (tried here)."""
        if self.mode() == "rootless" and str(client.info().get("CgroupVersion")) == "1":
            return ("rootless Podman on a cgroup v1 host cannot enforce memory, cpu and pids limits; run as root, "
                    "or on a host with cgroup v2 (systemd.unified_cgroup_hierarchy=1)")
        return None

    def _say_limits_problem(self, client: docker.DockerClient) -> None:
        problem = self.limits_problem(client)
        if problem:
            print(f"warning: {problem}", file=sys.stderr)

    def _start_service(self) -> None:
        """Start `podman system service` on the socket, in a session of its own, outliving this process until
        it is idle. Its output goes to a file beside the socket: a pipe would kill it once this process ended."""
        path = socket_path()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.unlink(missing_ok=True)  # a socket a service that ended left behind
        self._service_log = path.with_name("podman-service.log")
        with self._service_log.open("w") as log:
            command = ["podman", "system", "service", f"--time={IDLE_SECONDS}", f"unix://{path}"]
            # Its own folder as working directory: conmon leaves files (an exec's `oom` mark) in it.
            self._service = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                             start_new_session=True, cwd=path.parent)
        threading.Thread(target=self._service.wait, name="podman-service", daemon=True).start()  # reaped when it ends

    def _service_said(self) -> str:
        try:
            return self._service_log.read_text(errors="replace").strip()[-200:] if self._service_log else ""
        except OSError:
            return ""

    def stop_service(self) -> None:
        """End the service this process started, now rather than when idle (tests that start their own)."""
        with self._lock:
            if self._service is not None and self._service.poll() is None:
                self._service.terminate()
                try:
                    self._service.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self._service.kill()
            self._service = self._client = None

    def answers(self) -> bool:
        try:
            self.client()
            return True
        except Exception:  # any failure to answer (or to start) means: not yet
            return False

    def not_answering(self) -> str:
        if os.environ.get(HOST_ENV):
            return f"Podman's service at {HOST_ENV}={os.environ[HOST_ENV]} is not answering"
        return f"Podman's service on {self.url()} is not answering"

    def fix(self) -> str:
        if os.environ.get(HOST_ENV):
            return f"point {HOST_ENV} at a running `podman system service`, or unset it to let corebench start one"
        return "check that `podman info` works for this user (scripts/setup.sh installs podman)"

    def cli(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        """The podman command, as a client of the same service (so rootful or rootless alike)."""
        self.client()  # the service runs
        try:
            return subprocess.run(["podman", "--url", self.url(), *args], capture_output=True, text=True,
                                  timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return subprocess.CompletedProcess(args, 1, "", str(exc))

    def terminal_program(self) -> list[str]:
        if shutil.which("podman") is not None:
            self.client()  # the service the containers run under is up
        return ["podman", "--url", self.url()]

    def installed(self) -> bool:
        return shutil.which("podman") is not None or bool(os.environ.get(HOST_ENV))

    def mode(self) -> str:
        """How Podman runs here: rootful (as root), rootless (any other user), or a service someone else runs."""
        if os.environ.get(HOST_ENV):
            return f"the service at ${HOST_ENV}"
        return "rootful" if os.geteuid() == 0 else "rootless"

    def container_problem(self, image: str) -> str | None:
        """None when a container of `image` starts and runs `true` here; else what went wrong, with the fix."""
        container = None
        try:
            container = self.client().containers.create(image, ["true"], network_mode="none",
                                                        labels=owner_labels())
            container.start()
            code = container.wait(timeout=60).get("StatusCode")
        except UserError as exc:
            return exc.message
        except docker.errors.DockerException as exc:
            said = str(getattr(exc, "explanation", "") or exc)
            if "rlimit" in said or "ulimit" in said:
                return f"containers cannot start (their default rlimits are refused); {ULIMITS_FIX}"
            return f"a container of {image} did not start ({said[:200]})"
        finally:
            if container is not None:
                container.remove(force=True)
        return None if code == 0 else f"a container of {image} ran `true` and exited {code}"

    def task_network_class(self) -> type:
        return PodmanTaskNetwork

    def create_container(self, config: dict):
        """Compatible API, except for a container given CDI devices (a GPU): Podman's compatible create takes
        a device as a host path, so that one is made through Podman's own API, which resolves CDI names."""
        if not config.get("devices"):
            return super().create_container(config)
        client = self.client()
        made = client.api._post_json(f"{client.api.base_url}/{LIBPOD_API}/libpod/containers/create",
                                     data=libpod_spec(config))
        if made.status_code != 201:
            raise docker.errors.APIError(f"podman could not create the container: {made.text.strip()[:300]}",
                                         response=made, explanation=made.text.strip()[:300])
        return client.containers.get(made.json()["Id"])

    def gpu_ready(self) -> bool:
        """Podman hands a GPU in through CDI: a spec naming nvidia.com/gpu (`nvidia-ctk cdi generate`)."""
        return cdi_names_gpus()

    def import_rootfs(self, tarball: str, tag: str, changes: list[str]) -> None:
        """`podman import`: the compatible API's import leaves the image untagged."""
        args = [arg for change in changes for arg in ("--change", change)]
        done = self.cli("import", *args, tarball, tag, timeout=1800)
        if done.returncode != 0:
            raise UserError(f"podman import of {tarball} as {tag} failed: {done.stderr.strip()[-300:]}")


def libpod_spec(config: dict) -> dict:
    """container_config's keyword arguments as Podman's own container spec (SpecGenerator)."""
    network = config.get("network_mode") or "bridge"
    spec: dict = {
        "image": config["image"], "command": config["command"], "name": config["name"], "labels": config["labels"],
        "env": config["environment"], "work_dir": config["working_dir"], "init": bool(config.get("init")),
        "cap_drop": config["cap_drop"], "no_new_privileges": "no-new-privileges" in config["security_opt"],
        "privileged": False, "terminal": False, "stdin": False,
        "devices": [{"path": device} for device in config["devices"]],
        "hostadd": [f"{name}:{address}" for name, address in (config.get("extra_hosts") or {}).items()],
        "netns": {"nsmode": "none" if network == "none" else "bridge"},
    }
    if network not in ("none", "bridge"):
        spec["networks"] = {network: {}}
    limits: dict = {"pids": {"limit": config["pids_limit"]}} if config.get("pids_limit") else {}
    if config.get("mem_limit"):
        limits["memory"] = {"limit": parse_bytes(config["mem_limit"]), "swap": parse_bytes(config["memswap_limit"])}
    if config.get("nano_cpus"):
        limits["cpu"] = {"quota": config["nano_cpus"] // 10_000, "period": 100_000}
    spec["resource_limits"] = limits
    return spec


def _pings(client: docker.DockerClient) -> bool:
    try:
        return bool(client.ping())
    except Exception:  # the docker SDK's errors, and the requests session's own: not answering
        return False


PODMAN = PodmanEngine()
