"""A capsule's sandbox, the same for a run's task, `capsule check` and `capsule reproduce`.

`sandbox_spec` is the one place a SandboxSpec is made from a capsule: its image, resources (cpus,
memory, pids, disk), the user its code runs as (agent_user), the GPU request, the engine's
watchdog, the network and the labels. `open_for` opens it through the kind's provider with the
workspace in it, and points the task at the sandbox's workdir. So the oracle of a check runs
exactly as it would in a run: as the same user, under the same limits and the same watchdog.
"""

from __future__ import annotations

from dataclasses import replace

from corebench_runner.capsules import levels
from corebench_runner.capsules.format import Capsule
from corebench_runner.deadline import Deadline
from corebench_runner.errors import UserError
from corebench_runner.records import TaskSpec
from corebench_runner.sandbox.base import Sandbox, SandboxSpec
from corebench_runner.sandbox.providers import Step, no_step, provider_for

# Seconds the engine waits past a task's wall limit before its watchdog stops the sandbox itself.
WATCHDOG_GRACE_SECONDS = 30.0


def sandbox_spec(capsule: Capsule, image: str, labels: dict[str, str], gpu: bool = False,
                 wall_seconds: float | None = None, grace: float = WATCHDOG_GRACE_SECONDS,
                 network: str = "bridge") -> SandboxSpec:
    """The sandbox of one of the capsule's tasks; wall_seconds defaults to its resources.time_limit."""
    resources = capsule.resources
    wall = float(resources.time_limit) if wall_seconds is None else wall_seconds
    return SandboxSpec(image=image, cpus=resources.cpus, memory=resources.memory, pids_limit=resources.pids,
                       disk=resources.disk, network=network, gpu=gpu, labels=labels,
                       user=None if capsule.agent_user == "root" else capsule.agent_user,
                       watchdog_seconds=wall + grace if wall else None)


def open_for(kind: str, spec: SandboxSpec, workspace: levels.Workspace, deadline: Deadline | None = None,
             step: Step = no_step) -> tuple[Sandbox, TaskSpec]:
    """The sandbox (to be closed by the caller) with the workspace in it, and the task pointed at it."""
    sandbox = provider_for(kind).open(spec, workspace.path, deadline, step)
    return sandbox, task_at(workspace.task, sandbox.workdir)


def task_at(task: TaskSpec, workdir: str) -> TaskSpec:
    """Point the task at the sandbox's own workdir when it is not /workspace (the local sandbox's temp
    folder), so concurrent local tasks never share, or write into, the host's /workspace."""
    if workdir.rstrip("/") == task.workspace_dir.rstrip("/"):
        return task
    return replace(task, workspace_dir=workdir, report_path=f"{workdir}/{levels.REPORT_NAME}",
                   prompt=task.prompt.replace(task.workspace_dir, workdir))


def authoring_gpu(capsule: Capsule, sandbox_kind: str = "docker") -> bool:
    """Whether a check or a reproduction asks for a GPU: when the host has one this kind can hand in; else
    the capsule runs on the CPU, unless it requires a GPU (a one-line error then). Policy: sandbox/gpu.py."""
    from corebench_runner.sandbox.gpu import gpu_decision, host_has_gpu

    use_gpu, skip = gpu_decision(capsule.gpu, host_has_gpu(sandbox_kind), allow_no_gpu=True)
    if skip:
        raise UserError(f"{capsule.toml_path}: {skip}")
    return use_gpu
