"""Sandbox providers: one per kind of sandbox (docker, local), found by name in one registry.

A provider is a kind's lifecycle, in the way inspect_ai's sandbox environments have one:

- `preflight(spec)`: can this machine run this kind (and this spec's image)? One clear line if not.
- `open(spec, workspace)`: a sandbox with the workspace's contents in its workdir, to be closed by
  the caller. A kind whose start is slow starts in the background (background.py), so the start
  overlaps the scaffold's first model call; its workdir is the spec's, known at once.
- `cleanup(run_id, include_live)`: remove the sandboxes a killed run left behind (those started
  from other hosts only when asked: their owners cannot be checked from here).
- `outage(...)`: whether the engine behind the kind answers, waiting for it a while when not.
- `prepare()`: begin, in the background, what every sandbox of the kind needs (Docker: the task
  network), while a new run checks its model rather than on its first task's way.
- `gpu_ready()`: whether the kind can hand the host's GPU in (sandbox/gpu.py holds the one policy).
- `image_client()`, `import_rootfs(...)`: the engine that holds the kind's images, for images/ to
  build and look them up there (a Docker-API client: Docker's, or Podman's service).

The engine (running/) asks for a kind by name and never branches on it. Kinds are plugins
(registry.py): the built-in docker, podman and local providers are entry points in group
`corebench.sandboxes` of corebench-runner, and another package adds a kind (a remote engine,
a Kubernetes pod) with an entry point of its own naming a SandboxProvider.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from corebench_runner import registry
from corebench_runner.deadline import Deadline
from corebench_runner.errors import UserError
from corebench_runner.sandbox.base import Leftovers, Sandbox, SandboxSpec

# A step of a start ("sandbox_start", "copy_in"), for the caller to time it or refuse to begin it.
Step = Callable[[str], AbstractContextManager[None]]

# The kinds' names, listed without importing any provider (the CLI lists them without the docker SDK).
SANDBOX_KINDS = tuple(registry.names("sandboxes"))

_loaded: dict[str, "SandboxProvider"] = {}
_lock = threading.Lock()


def no_step(name: str) -> AbstractContextManager[None]:
    return contextlib.nullcontext()


class SandboxProvider:
    """What every kind provides; a kind overrides `start` and what its engine needs of the rest."""

    kind = ""
    uses_images = True  # the spec's image must be built first (the local sandbox ignores it)
    starts_in_background = False  # then its sandboxes' workdir is the spec's

    def preflight(self, spec: SandboxSpec | None = None) -> None:
        """UserError, in one line saying what to do, when this machine cannot run the spec here."""

    def prepare(self) -> None:
        """Begin, in the background, what every sandbox of this kind will need; nothing by default."""

    def start(self, spec: SandboxSpec, workspace: Path | None = None, deadline: Deadline | None = None,
              step: Step = no_step) -> Sandbox:
        """Start a sandbox and copy the workspace's contents into its workdir; closed again if that fails.

        deadline: stopped, with the reason, when the sandbox stops the task itself (a disk limit)."""
        raise NotImplementedError

    def open(self, spec: SandboxSpec, workspace: Path | None = None, deadline: Deadline | None = None,
             step: Step = no_step) -> Sandbox:
        """The sandbox a task uses: started now, or in the background for kinds that are slow to start."""
        self.preflight(spec)  # the user's to fix (e.g. a missing image): said before any model call
        if not self.starts_in_background:
            return self.start(spec, workspace, deadline, step)
        from corebench_runner.sandbox.background import BackgroundSandbox

        return BackgroundSandbox(lambda: self.start(spec, workspace, deadline, step), spec.workdir)

    def outage(self, stop: threading.Event | None = None, limit: float | None = None) -> str | None:
        """None when the engine behind this kind answers (waiting up to `limit` seconds, or until `stop`,
        for it to come back); else one line saying what does not answer."""
        return None

    def gpu_ready(self) -> bool:
        """Whether this kind can hand the host's GPU to a sandbox (asked once nvidia-smi lists one)."""
        return False

    def terminal_program(self) -> list[str]:
        """The command line that gives a person a terminal in this kind's sandboxes (`corebench session`);
        UserError in one line when this kind has none, or its command is not installed."""
        raise UserError(f"--sandbox {self.kind} cannot give a person a terminal in a sandbox; "
                        "use --sandbox docker or --sandbox podman")

    def terminal_command(self, sandbox: Sandbox, user: str, workdir: str, env: dict[str, str],
                         command: list[str]) -> list[str]:
        """The command that runs `command` on this terminal, interactively, inside the open `sandbox`."""
        raise UserError(f"--sandbox {self.kind} cannot give a person a terminal in a sandbox; "
                        "use --sandbox docker or --sandbox podman")

    def image_client(self):
        """A Docker-API client of the engine holding this kind's images (images/ builds and looks up there)."""
        raise UserError(f"the {self.kind} sandbox runs no images")

    def import_rootfs(self, tarball: str, tag: str, changes: list[str]) -> None:
        """Make image `tag` from a root filesystem tarball, with Dockerfile-style changes (LABEL, ENV, CMD)."""
        raise UserError(f"the {self.kind} sandbox runs no images")

    def cleanup(self, run_id: str | None = None, include_live: bool = False, include_other_hosts: bool = False,
                task: str | None = None, dry_run: bool = False, only_this_process: bool = False) -> Leftovers:
        """Remove the sandboxes (of one run, or one task of it; or all) whose owning process is gone.

        include_live: also those of processes still running on this host. include_other_hosts: also
        those started from other hosts sharing this engine, whose owners cannot be checked from here.
        only_this_process: just those this process started (a run another process took over)."""
        return Leftovers()


def made(step: Step, name: str, make: Callable[[], Sandbox]) -> Sandbox:
    """make() inside step(name); what it made is closed when the step refuses to end (the run was stopped)."""
    sandbox: Sandbox | None = None
    try:
        with step(name):
            sandbox = make()
    except BaseException:
        if sandbox is not None:
            sandbox.close()
        raise
    return sandbox


def filled(sandbox: Sandbox, workspace: Path | None, step: Step = no_step) -> Sandbox:
    """The sandbox with the workspace's contents copied into its workdir; closed if that fails."""
    try:
        with step("copy_in"):
            if workspace is not None:
                sandbox.copy_in(workspace, sandbox.workdir)
    except BaseException:
        sandbox.close()
        raise
    return sandbox


def provider_for(kind: str) -> SandboxProvider:
    """The provider of a kind; a UserError naming the kinds there are for any other."""
    with _lock:
        if kind not in _loaded:
            _loaded[kind] = registry.load("sandboxes", kind, flag="--sandbox")[0]
        return _loaded[kind]


def cleanup(kind: str, run_id: str | None = None, include_live: bool = False,
            include_other_hosts: bool = False) -> list[str]:
    """provider_for(kind).cleanup(...)'s removed names: a plain function, to run on every node of a cluster."""
    return provider_for(kind).cleanup(run_id, include_live, include_other_hosts).removed
