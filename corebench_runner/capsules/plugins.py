"""Scaffolds and graders by name, for the engine: a façade over the one plugin registry (registry.py).

A plugin of kind K named N is the suite's own file (<suite>/K/N.py or <suite>/K/N/__init__.py), else
an installed package's entry point N in group `corebench.K`, else the built-in of that name (itself
an entry point of corebench-runner). A plugin file exposes a module-level object: GRADER for graders,
SCAFFOLD for scaffolds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from corebench_runner import registry

EXPORTS = registry.SUITE_EXPORTS


def available(kind: str, suite_root: Path | None = None) -> list[str]:
    return registry.names(kind, suite_root)


def load_plugin(kind: str, name: str, suite_root: Path | None = None) -> Any:
    """Return the plugin object (e.g. a grader) named `name`, or raise a UserError listing the choices."""
    return find_plugin(kind, name, suite_root)[0]


def find_plugin(kind: str, name: str, suite_root: Path | None = None) -> tuple[Any, str]:
    """(the plugin object, where it came from: its file, or its entry point), for messages about it."""
    return registry.load(kind, name, suite_root)
