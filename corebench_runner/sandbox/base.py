"""The Sandbox contract: a small per-call surface plus a lifecycle.

A sandbox is opened from a SandboxSpec by its kind's provider (providers.py), used through exec /
read_file / write_file / copy_in / copy_out (and allow_host_port, peak_memory_bytes), and always
closed (use it as a context manager). close() is idempotent and must remove every resource
(container, temp dirs) even after a crash. These methods are all a caller may use: a kind that
cannot do one (the local sandbox has no firewall, no cgroup of its own) still has it, doing nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol, runtime_checkable

from corebench_runner.records import ExecResult


class CopyTooLarge(Exception):
    """copy_out stopped at its max_bytes: the files are larger than the caller will take."""


class FileTooLarge(CopyTooLarge):
    """read_file stopped at its max_bytes: size is the file's size, or None past the cap while streaming."""

    def __init__(self, path: str, size: int | None, max_bytes: int) -> None:
        held = f"{size} bytes" if size is not None else f"more than {max_bytes} bytes"
        super().__init__(f"{path} holds {held}, over the {max_bytes} byte cap")
        self.path, self.size, self.max_bytes = path, size, max_bytes


@dataclass(frozen=True)
class SandboxSpec:
    """What to start. `image` is ignored by the local sandbox."""

    image: str
    workdir: str = "/workspace"
    cpus: float | None = None
    memory: str | None = None  # docker syntax, e.g. "4g"
    pids_limit: int | None = 512
    disk: str | None = None  # docker size syntax; the workspace may hold this much (None: no limit)
    network: str = "bridge"  # "bridge" or "none"
    gpu: bool = False  # request GPU devices
    labels: dict[str, str] = field(default_factory=dict)  # e.g. run id, task id
    env: dict[str, str] = field(default_factory=dict)  # never secrets
    user: str | None = None  # run as this user when the image allows it
    output_cap_bytes: int = 1_000_000  # per stream, per exec
    # The engine's last word on time: the work in the sandbox is stopped (sandbox/watchdog.py) this
    # long after it starts, whatever the scaffold does. None: never.
    watchdog_seconds: float | None = None


@dataclass
class Leftovers:
    """What a provider's cleanup removed (or, in a dry run, would remove), and what it left alone."""

    removed: list[str] = field(default_factory=list)
    # Started from other hosts: whether their owners still run cannot be checked from here.
    other_hosts: list[str] = field(default_factory=list)


@runtime_checkable
class Sandbox(Protocol):
    workdir: str

    def exec(self, cmd: str | list[str], timeout: float | None = None, workdir: str | None = None,
             on_stdout: Callable[[bytes], None] | None = None) -> ExecResult:
        """Run a shell command (str, via bash -lc) or argv (list). Kills the whole process tree on timeout.
        on_stdout, when given, hears each chunk of standard output as it arrives (an agent CLI's stream is
        timed line by line so)."""

    def read_file(self, path: str, max_bytes: int | None = None) -> bytes:
        """A file's bytes. A link is followed to a file (FileNotFoundError when it leads nowhere, an
        OSError when it leads round in a cycle); a folder is IsADirectoryError; FileTooLarge, with
        nothing read past the cap, for a file over max_bytes."""

    def write_file(self, path: str, data: bytes | str) -> None: ...

    def copy_in(self, host_dir: Path, dest: str) -> None:
        """Copy a host folder's contents into dest inside the sandbox."""

    def copy_out(self, src: str, host_dir: Path, max_bytes: int | None = None) -> None:
        """Copy a sandbox path (file or folder) into a host folder; CopyTooLarge, nothing kept, past max_bytes.

        Links inside are copied as links, never followed (a cycle costs nothing); a link that leads
        out of what is copied is left out."""

    def allow_host_port(self, port: int) -> None:
        """Let the sandbox reach this TCP port of the host (a model relay) past its firewall."""

    def peak_memory_bytes(self) -> int | None:
        """The most memory the sandbox's processes held at once so far, or None when it cannot tell."""

    def close(self) -> None: ...

    def wait_closed(self) -> None:
        """Return once what close() removes is gone, even when a start was still under way (background.py)."""

    def __enter__(self) -> "Sandbox": ...

    def __exit__(self, *exc: object) -> None: ...
