"""The docker kind: containers on the Docker engine (DOCKER_HOST, or the local socket).

Its sandboxes start in the background (background.py): the container comes up while the scaffold
makes its first model call. The image is checked first, so a missing one is a clear line before
any model call. While the engine does not answer, tasks wait for it (engine.EngineGate).

The provider is one Docker-API engine's lifecycle: the podman kind is this provider on Podman's
engine (sandbox/podman/provider.py).
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import docker

from corebench_runner.deadline import Deadline
from corebench_runner.errors import UserError
from corebench_runner.sandbox.base import Leftovers, Sandbox, SandboxSpec
from corebench_runner.sandbox.docker.engine import DOCKER, ENGINE_WAIT_ENV, Engine, engine_wait_seconds
from corebench_runner.sandbox.docker.leftovers import remove_leftovers
from corebench_runner.sandbox.docker.sandbox import DockerSandbox, image_labels
from corebench_runner.sandbox.providers import SandboxProvider, Step, made, no_step


class DockerProvider(SandboxProvider):
    kind = "docker"
    uses_images = True
    starts_in_background = True

    def __init__(self, engine: Engine = DOCKER) -> None:
        self.engine = engine
        self.kind = engine.kind

    def preflight(self, spec: SandboxSpec | None = None) -> None:
        self.engine.client()  # one line naming what does not answer, and how to start it
        if spec is not None:
            image_labels(spec.image, self.engine)

    def prepare(self) -> None:
        self.engine.network.prepare_in_background()  # the task network: ~0.1 s of iptables calls

    def start(self, spec: SandboxSpec, workspace: Path | None = None, deadline: Deadline | None = None,
              step: Step = no_step) -> Sandbox:
        # The workspace goes in with the container's own files, before it starts (container_setup.py).
        return made(step, "sandbox_start",
                    lambda: DockerSandbox(spec, deadline=deadline, workspace=workspace, engine=self.engine))

    def outage(self, stop: threading.Event | None = None, limit: float | None = None) -> str | None:
        wait = engine_wait_seconds() if limit is None else limit
        if self.engine.gate.wait(stop=stop, limit=wait):
            return None
        if not wait:
            return f"{self.engine.name} stopped answering"
        return f"{self.engine.name} did not answer for {wait:g}s (${ENGINE_WAIT_ENV})"

    def cleanup(self, run_id: str | None = None, include_live: bool = False, include_other_hosts: bool = False,
                task: str | None = None, dry_run: bool = False, only_this_process: bool = False) -> Leftovers:
        if not self.engine.installed():
            return Leftovers()  # nothing can have been left on an engine this host does not have
        return remove_leftovers(run_id, include_live, include_other_hosts, task, dry_run, only_this_process,
                                engine=self.engine)

    def gpu_ready(self) -> bool:
        return self.engine.gpu_ready()

    def terminal_program(self) -> list[str]:
        program = self.engine.terminal_program()
        if shutil.which(program[0]) is None:
            raise UserError(f"corebench session needs the {program[0]} command line: it opens the person's shell "
                            f"with `{program[0]} exec -it` (install {program[0]}, or choose another --sandbox)")
        return program

    def terminal_command(self, sandbox: Sandbox, user: str, workdir: str, env: dict[str, str],
                         command: list[str]) -> list[str]:
        container = getattr(sandbox, "container", None)
        if container is None:  # a sandbox still starting in the background has no container yet
            raise UserError(f"no container to open a terminal in ({self.engine.name})")
        variables = [part for name, value in env.items() for part in ("-e", f"{name}={value}")]
        return [*self.terminal_program(), "exec", "-it", "-u", user, "-w", workdir, *variables, container.id,
                *command]

    def image_client(self) -> docker.DockerClient:
        return self.engine.client()

    def import_rootfs(self, tarball: str, tag: str, changes: list[str]) -> None:
        self.engine.import_rootfs(tarball, tag, changes)


PROVIDER = DockerProvider()
