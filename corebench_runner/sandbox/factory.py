"""Open a bare sandbox by kind name (the GPU policy it used to hold is sandbox/gpu.py's)."""

from __future__ import annotations

from corebench_runner.deadline import Deadline
from corebench_runner.sandbox.base import Sandbox, SandboxSpec
from corebench_runner.sandbox.gpu import gpu_decision, host_has_gpu
from corebench_runner.sandbox.providers import SANDBOX_KINDS, provider_for

__all__ = ["SANDBOX_KINDS", "gpu_decision", "host_has_gpu", "open_sandbox"]


def open_sandbox(kind: str, spec: SandboxSpec, deadline: Deadline | None = None) -> Sandbox:
    """Start an empty sandbox of this kind now; use it as a context manager so it is always closed.

    A task's sandbox comes from its provider's open() instead (providers.py), with the workspace in it.
    A Docker sandbox that stops the task itself (its workspace passed spec.disk) stops `deadline`
    with the reason, so the scaffold ends at its next model call.
    """
    return provider_for(kind).start(spec, deadline=deadline)
