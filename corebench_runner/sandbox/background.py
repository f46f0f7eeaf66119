"""A sandbox that starts in a thread, so its start-up overlaps the agent's first model call.

Starting a container (create, start, prepare, copy the workspace in) takes about a second, and
several at once on a small host take several: time the agent would otherwise spend waiting before
it even asks the model anything. The task runner hands the scaffold this wrapper at once; the
container starts beside it, and the first use of the sandbox (an exec, a file) waits for it.
A failed start is raised at that first use; close() then has nothing to remove.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

from corebench_runner.records import ExecResult
from corebench_runner.sandbox.base import Sandbox


class BackgroundSandbox:
    def __init__(self, start: Callable[[], Sandbox], workdir: str) -> None:
        """start() opens and fills the real sandbox; workdir must be known before it finishes."""
        self.workdir = workdir
        self._sandbox: Sandbox | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._closed = False
        self._lock = threading.Lock()
        threading.Thread(target=self._start, args=(start,), name="sandbox-start", daemon=True).start()

    def _start(self, start: Callable[[], Sandbox]) -> None:
        try:
            sandbox = start()
        except BaseException as exc:  # handed to whoever uses the sandbox first
            self._error = exc
        else:
            with self._lock:
                self._sandbox = sandbox
                closed_meanwhile = self._closed
            if closed_meanwhile:  # close() came first: nothing may outlive it
                sandbox.close()
        finally:
            self._done.set()

    def ready(self) -> Sandbox:
        """The started sandbox, waiting for it; raises what stopped it from starting."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        if self._closed:
            raise RuntimeError("the sandbox was closed")
        assert self._sandbox is not None
        return self._sandbox

    def exec(self, cmd: str | list[str], timeout: float | None = None, workdir: str | None = None,
             on_stdout: Callable[[bytes], None] | None = None) -> ExecResult:
        if on_stdout is None:  # a sandbox plugin may not take it
            return self.ready().exec(cmd, timeout=timeout, workdir=workdir)
        return self.ready().exec(cmd, timeout=timeout, workdir=workdir, on_stdout=on_stdout)

    def read_file(self, path: str, max_bytes: int | None = None) -> bytes:
        return self.ready().read_file(path, max_bytes)

    def write_file(self, path: str, data: bytes | str) -> None:
        self.ready().write_file(path, data)

    def copy_in(self, host_dir: Path, dest: str) -> None:
        self.ready().copy_in(host_dir, dest)

    def copy_out(self, src: str, host_dir: Path, max_bytes: int | None = None) -> None:
        self.ready().copy_out(src, host_dir, max_bytes)

    def allow_host_port(self, port: int) -> None:
        self.ready().allow_host_port(port)

    def peak_memory_bytes(self) -> int | None:
        return self.ready().peak_memory_bytes()

    def close(self) -> None:
        """Close now if started; else the start closes what it opens (a watchdog must not wait on it)."""
        with self._lock:
            self._closed = True
            sandbox = self._sandbox
        if sandbox is not None:
            sandbox.close()

    def wait_closed(self) -> None:
        """Wait until a start in progress has finished (and closed what it opened)."""
        self._done.wait()

    def __getattr__(self, name: str) -> Any:  # e.g. DockerSandbox.container, for scaffolds that need it
        return getattr(self.ready(), name)

    def __enter__(self) -> "BackgroundSandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        self.wait_closed()
