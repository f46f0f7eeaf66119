"""Executors decide only where a task runs: they take jobs and hand back results as they finish.

An executor knows nothing about capsules or graders. It runs `fn(job)` for each submitted job
with at most `slots` in flight and returns (job, result) pairs in completion order.

Executors are plugins (registry.py): a callable (fn, slots, address) -> Executor under an entry point in
group `corebench.executors`; local and ray are corebench-runner's own.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from corebench_runner import registry
from corebench_runner.errors import UserError

EXECUTORS = tuple(registry.names("executors"))


class Executor(Protocol):
    slots: int

    def submit(self, job: Any) -> None:
        """Start fn(job); the caller never submits more than `slots` jobs at once."""

    def next_result(self) -> tuple[Any, Any]:
        """Block until a submitted job finishes; return (job, fn(job)). Exceptions from fn propagate."""

    def in_flight(self) -> int: ...

    def on_every_node(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        """Run fn(*args) once on every machine that runs tasks (e.g. to clean up there); their results."""

    def close(self) -> None:
        """Stop waiting for what is still running and release resources."""


def make_executor(kind: str, fn: Callable[[Any], Any], slots: int, ray_address: str | None = None) -> Executor:
    if slots < 1:
        raise UserError(f"--concurrency must be at least 1, not {slots}")
    factory = registry.load("executors", kind, flag="--executor")[0]
    return factory(fn, slots, address=ray_address)
