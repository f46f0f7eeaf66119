"""The real sandbox: one Docker container per task, through the docker SDK.

The container idles (`sleep infinity` under docker's init) and every command is a `docker exec`.
Limits come from the SandboxSpec: cpus, memory (no extra swap), pids, network. Containers are
never privileged, drop the capabilities an agent does not need, and get no-new-privileges.
Nothing from the host's environment is passed in; only spec.env and the CA bundle settings.
Files travel as tar archives (put_archive / get_archive); no host path is ever mounted.
"""

from __future__ import annotations

import atexit
import errno
import hashlib
import io
import posixpath
import tarfile
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Callable

import docker.errors

from corebench_runner.deadline import Deadline
from corebench_runner.errors import UserError
from corebench_runner.records import ExecResult, Outcome
from corebench_runner.sandbox.archive import extract_capped
from corebench_runner.sandbox.base import FileTooLarge, SandboxSpec
from corebench_runner.sandbox.docker import firewall
from corebench_runner.sandbox.docker.container_setup import (
    EXEC_WRAPPER,
    add_bytes,
    container_config,
    user_ids,
    write_setup_archive,
)
from corebench_runner.sandbox.docker.disk_guard import USAGE_SCRIPT, DiskGuard, human, size_bytes, usage_measure
from corebench_runner.sandbox.docker.engine import DOCKER, Engine
from corebench_runner.sandbox.output import CappedOutput
from corebench_runner.settings import Settings, load_settings

# Past its timeout, a command whose output is still open (a child that escaped its process
# group) gets this long before every process but init is killed.
ESCAPE_GRACE_SECONDS = 5.0
TIMEOUT_EXIT_CODES = (137,)
OOM_COUNT_SCRIPT = "cat /sys/fs/cgroup/memory/memory.oom_control 2>/dev/null || cat /sys/fs/cgroup/memory.events"
# Kills every process except init, the idle sleep and itself. The sleep is init's first child, and
# stays first in its list of children (orphans it adopts come after); read with builtins only, since
# a fork bomb may have used up the pids limit.
KILL_ALL_SCRIPT = ('idle=1; { read -r first _ </proc/1/task/1/children; } 2>/dev/null; [ -n "$first" ] && idle=$first; '
                   'for p in /proc/[0-9]*; do p=${p#/proc/}; [ "$p" = 1 ] || [ "$p" = "$idle" ] || [ "$p" = $$ ] || '
                   'kill -KILL "$p" 2>/dev/null; done; true')

_open_sandboxes: "weakref.WeakSet[DockerSandbox]" = weakref.WeakSet()
PEAK_MEMORY_FILES = ("/sys/fs/cgroup/memory/memory.max_usage_in_bytes",  # cgroup v1
                     "/sys/fs/cgroup/memory.peak")  # cgroup v2 (kernel 5.19+)
DOCKER_MODE_DIR = 1 << 31  # in the engine's stat of an archived path
MAX_LINK_HOPS = 40  # links followed to read one file, as Linux's own limit for one path
TAR_OVERHEAD_BYTES = 64 * 1024  # headers and padding around one file in the engine's tar


@atexit.register
def _close_leftovers() -> None:
    """A sandbox nobody closed (a crash between create and `with`) is still removed at exit."""
    for sandbox in list(_open_sandboxes):
        sandbox.close()


def image_labels(image: str, engine: Engine = DOCKER) -> dict[str, str]:
    """The image's labels; one clear line when the image is not on this machine."""
    try:
        return engine.client().images.get(image).labels or {}
    except docker.errors.ImageNotFound:
        sandbox = "" if engine.kind == "docker" else f" --sandbox {engine.kind}"
        raise UserError(f"image {image} is not in {engine.name}; build it with `corebench images build-base{sandbox}` "
                        f"or `corebench images build CAPSULE_ID{sandbox}`") from None


class DockerSandbox:
    def __init__(self, spec: SandboxSpec, settings: Settings | None = None, deadline: Deadline | None = None,
                 workspace: Path | None = None, engine: Engine = DOCKER) -> None:
        """deadline: stopped (with the reason) when this sandbox stops the task itself, e.g. for its disk limit.
        workspace: a host folder whose contents the workdir starts with (as copy_in would put them there).
        engine: the Docker-API engine the container runs on (Docker's, or Podman's service)."""
        self.spec = spec
        self.workdir = spec.workdir
        self.engine = engine
        self._client = engine.client()
        self._closed = False
        self._lock = threading.Lock()
        self._owner: tuple[int, int] = (0, 0)
        self._oom_kills = 0
        self._deadline = deadline
        self._disk_guard: DiskGuard | None = None
        self._disk_stopped_at: float | None = None
        self._disk_scope = ""
        self._firewall_rules: list[list[str]] = []
        settings = settings or load_settings()
        ca_bytes = self._ca_to_hand_in(spec.image, settings)
        # "bridge" (internet on) means the task network, whose firewall keeps the host's services out of reach.
        network = engine.network.name() if spec.network == "bridge" else spec.network
        self.container = engine.create_container(container_config(
            spec, ca_bytes is not None, network, settings.blocked_host_entries(), engine.gpu_config()))
        _open_sandboxes.add(self)
        try:
            self._owner = user_ids(self.container, spec.image, spec.user or "root")
            # Everything the container starts with, in one archive before it starts: no setup exec.
            with tempfile.TemporaryFile() as archive:  # on disk: a capsule's data can be large
                write_setup_archive(archive, self.workdir, self._owner, ca_bytes, workspace)
                archive.seek(0)
                self.container.put_archive("/", archive)
            self.container.start()
            if spec.disk:
                measure, self._disk_scope = usage_measure(self.container.attrs, self.workdir, self._du_in_container)
                self._disk_guard = DiskGuard(lambda: None if self._closed else measure(), size_bytes(spec.disk),
                                             self._disk_exceeded)
        except docker.errors.APIError as exc:
            self.close()
            if spec.gpu and ("device driver" in str(exc) or "CDI" in str(exc)):
                raise UserError(f"a GPU was requested but {engine.name} has no GPU driver here; check `corebench doctor` "
                                "or run without the GPU (--allow-no-gpu for gpu = \"optional\" capsules)") from None
            raise
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ lifecycle

    def _ca_to_hand_in(self, image: str, settings: Settings) -> bytes | None:
        """The CA bundle to copy in, unless the image already trusts exactly this bundle (our bases do)."""
        labels = image_labels(image, self.engine)
        ca = settings.ca_bundle_bytes()
        if ca is None or labels.get("corebench.ca_bundle_sha256") == hashlib.sha256(ca).hexdigest():
            return None
        return ca

    def close(self) -> None:
        """Kill and remove the container. Idempotent, thread-safe, never raises for a gone container."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _open_sandboxes.discard(self)
        if self._disk_guard is not None:
            self._disk_guard.close()
        for rule in self._firewall_rules:
            firewall.revoke(rule)
        try:
            self.container.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: removal already under way
                raise

    def wait_closed(self) -> None:
        """close() is done when it returns."""

    def allow_host_port(self, port: int) -> None:
        """Let this container reach one TCP port of the host (its model relay) through the task firewall."""
        self.container.reload()
        networks = self.container.attrs.get("NetworkSettings", {}).get("Networks", {})
        address = (networks.get(firewall.TASK_NETWORK) or {}).get("IPAddress")
        rule = self.engine.network.allow(address, port) if address else None
        if rule is not None:
            self._firewall_rules.append(rule)

    def peak_memory_bytes(self) -> int | None:
        """From the container's cgroup (read it before close(): the cgroup goes with the container)."""
        for path in PEAK_MEMORY_FILES:
            result = self._run(["cat", path], user="root", timeout=30)
            if result.exit_code == 0 and result.stdout.strip().isdigit():
                return int(result.stdout.strip())
        return None

    def _du_in_container(self, path: str) -> str:
        return self._run(["sh", "-c", USAGE_SCRIPT, "du", path], user="root", timeout=120).stdout

    def _disk_exceeded(self, used: int) -> None:
        """Stop the task: kill what runs, and tell the scaffold (through the deadline) why."""
        reason = (f"the task passed its disk limit: {human(used)} {self._disk_scope}, the limit is {self.spec.disk} "
                  "(resources.disk in capsule.toml); the task was stopped")
        self._disk_stopped_at = time.monotonic()
        if self._deadline is not None:
            self._deadline.stop(reason, Outcome.BUDGET_EXCEEDED)
        self._kill_everything()

    def __enter__(self) -> "DockerSandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ exec

    def exec(self, cmd: str | list[str], timeout: float | None = None, workdir: str | None = None,
             on_stdout: Callable[[bytes], None] | None = None) -> ExecResult:
        argv = ["bash", "-lc", cmd] if isinstance(cmd, str) else list(cmd)
        return self._run(argv, user=self.spec.user or "root", timeout=timeout, workdir=workdir or self.workdir,
                         on_stdout=on_stdout)

    def _run(self, argv: list[str], user: str, timeout: float | None, workdir: str = "/",
             on_stdout: Callable[[bytes], None] | None = None) -> ExecResult:
        # The wrapper gives the command a process group of its own and kills it on timeout and at the end.
        argv = [EXEC_WRAPPER, "0" if timeout is None else f"{max(timeout, 0.001):.3f}", *argv]
        started = time.monotonic()
        api = self._client.api
        exec_id = api.exec_create(self.container.id, argv, stdout=True, stderr=True, user=user, workdir=workdir)["Id"]
        stream = api.exec_start(exec_id, stream=True, demux=True)
        stdout, stderr = CappedOutput(self.spec.output_cap_bytes), CappedOutput(self.spec.output_cap_bytes)
        escape_guard = None
        if timeout is not None:
            escape_guard = threading.Timer(timeout + ESCAPE_GRACE_SECONDS, self._kill_everything)
            escape_guard.daemon = True
            escape_guard.start()
        try:
            for out_chunk, err_chunk in stream:
                if out_chunk:
                    stdout.add(out_chunk)
                    if on_stdout is not None:
                        on_stdout(out_chunk)
                if err_chunk:
                    stderr.add(err_chunk)
        except docker.errors.APIError:
            if not self._closed:
                raise
        finally:
            if escape_guard is not None:
                escape_guard.cancel()
        seconds = time.monotonic() - started
        try:
            exit_code = api.exec_inspect(exec_id).get("ExitCode")
        except docker.errors.NotFound:  # the container was closed under us (a watchdog did it)
            exit_code = None
        except docker.errors.APIError:
            if not self._closed:
                raise
            exit_code = None  # the same, from Podman: a 500 naming the container gone, not a 404
        exit_code = -1 if exit_code is None else exit_code
        if self._disk_stopped_at is not None and self._disk_stopped_at >= started and exit_code == 137:
            stderr.add(f"\n[corebench: killed: the task passed its disk limit of {self.spec.disk}]\n".encode())
        timed_out = timeout is not None and exit_code in TIMEOUT_EXIT_CODES and seconds >= timeout * 0.95
        if exit_code == 137 and not timed_out and not self._closed and self._oom_kills_rose():
            stderr.add(f"\n[corebench: killed by the out-of-memory killer; the memory limit is {self.spec.memory}]\n".encode())
        return ExecResult(exit_code=exit_code, stdout=stdout.text(), stderr=stderr.text(), timed_out=timed_out,
                          truncated=stdout.truncated or stderr.truncated, seconds=seconds)

    def _oom_kills_rose(self) -> bool:
        """Whether the container's cgroup counted a new OOM kill since we last looked (cgroup v1 or v2)."""
        exec_id = self._client.api.exec_create(self.container.id, ["sh", "-c", OOM_COUNT_SCRIPT], user="root")["Id"]
        out = self._client.api.exec_start(exec_id).decode(errors="replace").split()
        count = int(out[out.index("oom_kill") + 1]) if "oom_kill" in out else 0
        rose, self._oom_kills = count > self._oom_kills, count
        return rose

    def _kill_everything(self) -> None:
        """Last resort for a timed-out command whose children left its process group."""
        try:
            exec_id = self._client.api.exec_create(self.container.id, ["sh", "-c", KILL_ALL_SCRIPT, "kill-all"],
                                                   user="root")["Id"]
            self._client.api.exec_start(exec_id)
        except docker.errors.APIError:
            pass

    # ------------------------------------------------------------------ files

    def _abs(self, path: str) -> str:
        return path if path.startswith("/") else posixpath.join(self.workdir, path)

    def _archive(self, path: str):
        """(chunks, stat) of the engine's tar of one path; OSErrors for a path that is not there or loops."""
        try:
            return self.container.get_archive(path)
        except docker.errors.NotFound:
            raise FileNotFoundError(path) from None
        except docker.errors.APIError as exc:
            if "too many links" in str(exc) or "too many levels of symbolic links" in str(exc):  # a link cycle
                raise OSError(errno.ELOOP, "a cycle of symbolic links", path) from None
            raise

    def read_file(self, path: str, max_bytes: int | None = None) -> bytes:
        """The file's bytes; a link is followed, at most MAX_LINK_HOPS times and never round a cycle.

        Past max_bytes (the engine's stat says the size first) nothing more is fetched: FileTooLarge."""
        path = self._abs(path)
        seen: set[str] = set()
        while True:
            if path in seen or len(seen) > MAX_LINK_HOPS:
                raise OSError(errno.ELOOP, "a cycle of symbolic links", path)
            seen.add(path)
            chunks, stat = self._archive(path)
            if stat.get("mode", 0) & DOCKER_MODE_DIR or stat.get("isDir"):  # Podman: isDir, also for a link to one
                raise IsADirectoryError(path)
            # Docker archives a link as a link (its stat names the end); Podman archives the end itself, and
            # its stat names every path as its own linkTarget.
            is_link = stat.get("linkTarget") not in (None, "", path)
            if max_bytes is not None and not is_link and int(stat.get("size") or 0) > max_bytes:
                chunks.close()  # the stream is never read: a huge file costs nothing
                raise FileTooLarge(path, int(stat["size"]), max_bytes)
            with tempfile.SpooledTemporaryFile(max_size=16 << 20) as buffer:
                for chunk in chunks:
                    buffer.write(chunk)
                    if max_bytes is not None and buffer.tell() > max_bytes + TAR_OVERHEAD_BYTES:  # it grew meanwhile
                        chunks.close()
                        raise FileTooLarge(path, None, max_bytes)
                buffer.seek(0)
                with tarfile.open(fileobj=buffer) as tar:
                    member = tar.next()
                    if member is not None and member.issym():
                        # The engine's stat names the link's end, resolved in the container; else one hop.
                        target = stat.get("linkTarget") or member.linkname
                        path = posixpath.join(posixpath.dirname(path), target)
                        continue
                    extracted = tar.extractfile(member) if member is not None else None
                    if extracted is None:
                        raise FileNotFoundError(path)
                    return extracted.read()

    def write_file(self, path: str, data: bytes | str) -> None:
        path = self._abs(path)
        if isinstance(data, str):
            data = data.encode("utf-8")
        parent = posixpath.dirname(path)
        if posixpath.normpath(parent) != posixpath.normpath(self.workdir):  # it came with the container: an exec less
            made = self._run(["mkdir", "-p", parent], user=self.spec.user or "root", timeout=60)
            if made.exit_code != 0:
                raise PermissionError(f"cannot create {parent} in the sandbox: {made.stderr.strip()}")
        self._put_file(path, data, owner=self._owner, mode=0o644)

    def _put_file(self, path: str, data: bytes, owner: tuple[int, int], mode: int) -> None:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            add_bytes(tar, path, data, owner, mode, int(time.time()))
        self.container.put_archive("/", buffer.getvalue())

    def copy_in(self, host_dir: Path, dest: str) -> None:
        """Copy the contents of host_dir into dest (created if missing), owned by the sandbox user."""
        dest = self._abs(dest)
        if posixpath.normpath(dest) != posixpath.normpath(self.workdir):  # it came with the container: an exec less
            made = self._run(["mkdir", "-p", dest], user=self.spec.user or "root", timeout=60)
            if made.exit_code != 0:
                raise PermissionError(f"cannot create {dest} in the sandbox: {made.stderr.strip()}")
        uid, gid = self._owner

        def owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
            info.uid, info.gid, info.uname, info.gname = uid, gid, "", ""
            return info

        with tempfile.TemporaryFile() as buffer:  # on disk: a capsule's data can be large
            with tarfile.open(fileobj=buffer, mode="w") as tar:
                for entry in sorted(Path(host_dir).iterdir()):
                    tar.add(entry, arcname=entry.name, filter=owned)
            buffer.seek(0)
            self.container.put_archive(dest, buffer)

    def copy_out(self, src: str, host_dir: Path, max_bytes: int | None = None) -> None:
        """Copy a sandbox file or folder into host_dir, as host_dir/<its name> (like `docker cp`).

        Streamed: past max_bytes of files the copy stops, keeps nothing, and raises CopyTooLarge. The
        engine's tar holds links as links; archive.py leaves out those that lead out of the copy."""
        src = self._abs(src)
        chunks, _ = self._archive(src)
        host_dir = Path(host_dir)
        host_dir.mkdir(parents=True, exist_ok=True)
        extract_capped(chunks, host_dir, max_bytes, src)
