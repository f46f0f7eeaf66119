"""Sandboxes: where an agent's commands run. See base.Sandbox for the contract, providers.py for the kinds."""

from corebench_runner.sandbox.base import Sandbox, SandboxSpec

__all__ = ["Sandbox", "SandboxSpec"]
