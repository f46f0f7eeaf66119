"""The same Sandbox contract with no isolation: commands run on this host, as you.

For debugging a capsule quickly. It is NOT a sandbox: an agent could read or delete anything you
can. The workdir is a fresh temporary folder; relative paths land there, absolute paths are taken
as they are. The host's environment is not passed on (API keys stay out); only PATH, LANG and
spec.env are set. A timeout kills the command's whole process group.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Callable

from corebench_runner.deadline import Deadline
from corebench_runner.errors import UserError
from corebench_runner.records import ExecResult
from corebench_runner.sandbox.archive import extract_capped
from corebench_runner.sandbox.base import CopyTooLarge, FileTooLarge, Sandbox, SandboxSpec
from corebench_runner.sandbox.output import CappedOutput
from corebench_runner.sandbox.providers import SandboxProvider, Step, filled, made, no_step

WARNING = "the local sandbox is not a sandbox: commands run on this host as the current user, with no isolation"
READ_CHUNK = 65536


class LocalSandbox:
    def __init__(self, spec: SandboxSpec) -> None:
        warnings.warn(WARNING, stacklevel=2)
        self.spec = spec
        self._root = Path(tempfile.mkdtemp(prefix="corebench-local-"))
        self.workdir = str(self._root)
        self._closed = False

    def _env(self) -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "LANG": "C.UTF-8",
                "HOME": self.workdir, **self.spec.env}

    def _path(self, path: str) -> Path:
        return Path(path) if path.startswith("/") else self._root / path

    def exec(self, cmd: str | list[str], timeout: float | None = None, workdir: str | None = None,
             on_stdout: Callable[[bytes], None] | None = None) -> ExecResult:
        argv = ["bash", "-lc", cmd] if isinstance(cmd, str) else list(cmd)
        started = time.monotonic()
        try:
            process = subprocess.Popen(argv, cwd=workdir or self.workdir, env=self._env(), stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        except FileNotFoundError as exc:
            return ExecResult(exit_code=127, stdout="", stderr=f"{exc}\n", seconds=time.monotonic() - started)
        outputs = (CappedOutput(self.spec.output_cap_bytes), CappedOutput(self.spec.output_cap_bytes))
        readers = [threading.Thread(target=_drain, args=(pipe, out, heard), daemon=True)
                   for pipe, out, heard in zip((process.stdout, process.stderr), outputs, (on_stdout, None))]
        for reader in readers:
            reader.start()
        timed_out = False
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_group(process.pid)  # also reaps children left behind by a finished command
            process.wait()
        for reader in readers:
            reader.join(timeout=5)
        stdout, stderr = outputs
        return ExecResult(exit_code=process.returncode, stdout=stdout.text(), stderr=stderr.text(), timed_out=timed_out,
                          truncated=stdout.truncated or stderr.truncated, seconds=time.monotonic() - started)

    def read_file(self, path: str, max_bytes: int | None = None) -> bytes:
        with open(self._path(path), "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if max_bytes is not None and size > max_bytes:
                raise FileTooLarge(path, size, max_bytes)
            data = file.read() if max_bytes is None else file.read(max_bytes + 1)
        if max_bytes is not None and len(data) > max_bytes:  # it grew while read
            raise FileTooLarge(path, None, max_bytes)
        return data

    def write_file(self, path: str, data: bytes | str) -> None:
        target = self._path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)

    def copy_in(self, host_dir: Path, dest: str) -> None:
        shutil.copytree(host_dir, self._path(dest), dirs_exist_ok=True, symlinks=True)

    def copy_out(self, src: str, host_dir: Path, max_bytes: int | None = None) -> None:
        """As the Docker sandbox does it: a tar of src (links as links) unpacked by archive.py."""
        source = self._path(src)
        if not os.path.lexists(source):
            raise FileNotFoundError(str(source))
        copied = 0

        def counted(info: tarfile.TarInfo) -> tarfile.TarInfo:
            nonlocal copied
            copied += info.size if info.isfile() else 0
            if max_bytes is not None and copied > max_bytes:  # before packing more than the caller takes
                raise CopyTooLarge(f"{source} holds more than {max_bytes} bytes")
            return info

        host_dir = Path(host_dir)
        host_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile() as packed:
            with tarfile.open(fileobj=packed, mode="w") as tar:
                tar.add(source, arcname=source.name, filter=counted)
            packed.seek(0)
            extract_capped(iter(lambda: packed.read(READ_CHUNK), b""), host_dir, max_bytes, str(source))

    def allow_host_port(self, port: int) -> None:
        """Nothing to do: commands run on the host itself, with no firewall between."""

    def peak_memory_bytes(self) -> int | None:
        return None  # the commands share the host's memory accounting: nothing of their own to read

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        shutil.rmtree(self._root, ignore_errors=True)

    def wait_closed(self) -> None:
        """close() is done when it returns."""

    def __enter__(self) -> "LocalSandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _drain(pipe, out: CappedOutput, heard: Callable[[bytes], None] | None = None) -> None:
    while chunk := pipe.read1(READ_CHUNK) if hasattr(pipe, "read1") else pipe.read(READ_CHUNK):
        out.add(chunk)
        if heard is not None:
            heard(chunk)
    pipe.close()


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class LocalProvider(SandboxProvider):
    kind = "local"
    uses_images = False

    def preflight(self, spec: SandboxSpec | None = None) -> None:
        if shutil.which("bash") is None:
            raise UserError("--sandbox local runs commands with bash, which is not installed on this host; "
                            "install it, or use --sandbox docker")

    def start(self, spec: SandboxSpec, workspace: Path | None = None, deadline: Deadline | None = None,
              step: Step = no_step) -> Sandbox:
        return filled(made(step, "sandbox_start", lambda: LocalSandbox(spec)), workspace, step)

    def gpu_ready(self) -> bool:
        return True  # its commands run on the host itself


PROVIDER = LocalProvider()
