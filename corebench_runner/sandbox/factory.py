"""Open a bare sandbox by kind name, and decide what to do about GPUs."""

from __future__ import annotations

import functools
import shutil
import subprocess

from corebench_runner.deadline import Deadline
from corebench_runner.errors import UserError
from corebench_runner.sandbox.base import Sandbox, SandboxSpec
from corebench_runner.sandbox.providers import SANDBOX_KINDS, provider_for

__all__ = ["SANDBOX_KINDS", "gpu_decision", "host_has_gpu", "open_sandbox"]


def open_sandbox(kind: str, spec: SandboxSpec, deadline: Deadline | None = None) -> Sandbox:
    """Start an empty sandbox of this kind now; use it as a context manager so it is always closed.

    A task's sandbox comes from its provider's open() instead (providers.py), with the workspace in it.
    A Docker sandbox that stops the task itself (its workspace passed spec.disk) stops `deadline`
    with the reason, so the scaffold ends at its next model call.
    """
    return provider_for(kind).start(spec, deadline=deadline)


@functools.lru_cache(maxsize=1)
def host_has_gpu() -> bool:
    """True when an NVIDIA GPU answers nvidia-smi and Docker has the nvidia runtime to hand it in."""
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    if listed.returncode != 0 or "GPU" not in listed.stdout:
        return False
    try:
        from corebench_runner.sandbox.docker.engine import docker_client

        runtimes = docker_client().info().get("Runtimes", {})
    except UserError:
        return False
    return "nvidia" in runtimes or shutil.which("nvidia-container-cli") is not None


def gpu_decision(capsule_gpu: str, host_has_gpu: bool, allow_no_gpu: bool) -> tuple[bool, str | None]:
    """(use_gpu, skip_reason): a task needing a GPU this host lacks is skipped, with the reason.

    capsule_gpu is the capsule's `gpu` field: "none", "optional" or "required". "optional" runs
    without a GPU only when --allow-no-gpu says so; "required" never does.
    """
    if capsule_gpu == "none":
        return False, None
    if host_has_gpu:
        return True, None
    if capsule_gpu == "optional" and allow_no_gpu:
        return False, None
    if capsule_gpu == "optional":
        return False, "capsule wants a GPU (gpu = \"optional\") and this host has none; pass --allow-no-gpu to run it on CPU"
    return False, "capsule needs a GPU (gpu = \"required\") and this host has none"
