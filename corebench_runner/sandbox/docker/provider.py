"""The docker kind: containers on the Docker engine (DOCKER_HOST, or the local socket).

Its sandboxes start in the background (background.py): the container comes up while the scaffold
makes its first model call. The image is checked first, so a missing one is a clear line before
any model call. While the engine does not answer, tasks wait for it (engine.EngineGate).
"""

from __future__ import annotations

import threading
from pathlib import Path

from corebench_runner.deadline import Deadline
from corebench_runner.sandbox.base import Leftovers, Sandbox, SandboxSpec
from corebench_runner.sandbox.docker import firewall
from corebench_runner.sandbox.docker.engine import ENGINE, ENGINE_WAIT_ENV, docker_client, engine_wait_seconds
from corebench_runner.sandbox.docker.leftovers import remove_leftovers
from corebench_runner.sandbox.docker.sandbox import DockerSandbox, image_labels
from corebench_runner.sandbox.providers import SandboxProvider, Step, made, no_step


class DockerProvider(SandboxProvider):
    kind = "docker"
    uses_images = True
    starts_in_background = True

    def preflight(self, spec: SandboxSpec | None = None) -> None:
        docker_client()  # one line naming DOCKER_HOST (or how to start the engine) when it does not answer
        if spec is not None:
            image_labels(spec.image)

    def prepare(self) -> None:
        firewall.prepare_in_background()  # the task network: ~0.1 s of iptables calls

    def start(self, spec: SandboxSpec, workspace: Path | None = None, deadline: Deadline | None = None,
              step: Step = no_step) -> Sandbox:
        # The workspace goes in with the container's own files, before it starts (container_setup.py).
        return made(step, "sandbox_start", lambda: DockerSandbox(spec, deadline=deadline, workspace=workspace))

    def outage(self, stop: threading.Event | None = None, limit: float | None = None) -> str | None:
        wait = engine_wait_seconds() if limit is None else limit
        if ENGINE.wait(stop=stop, limit=wait):
            return None
        if not wait:
            return "the Docker engine stopped answering"
        return f"the Docker engine did not answer for {wait:g}s (${ENGINE_WAIT_ENV})"

    def cleanup(self, run_id: str | None = None, include_live: bool = False, include_other_hosts: bool = False,
                task: str | None = None, dry_run: bool = False, only_this_process: bool = False) -> Leftovers:
        return remove_leftovers(run_id, include_live, include_other_hosts, task, dry_run, only_this_process)


PROVIDER = DockerProvider()
