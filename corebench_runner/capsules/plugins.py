"""Find scaffolds, graders and report template sets by name, with no engine change.

A plugin of kind K named N is, in order of precedence:
  1. <suite>/K/N.py or <suite>/K/N/__init__.py   (the suite in use)
  2. the same in the bundled suite (this repository)
  3. a Python entry point named N in the group `corebench_runner.K`
A plugin module exposes a module-level object: GRADER for graders, SCAFFOLD for scaffolds.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from corebench_runner.capsules.suite import BUNDLED_SUITE
from corebench_runner.errors import UserError

EXPORTS = {"graders": "GRADER", "scaffolds": "SCAFFOLD"}
_loaded: dict[Path, ModuleType] = {}


def _search_roots(suite_root: Path | None) -> list[Path]:
    roots = [suite_root] if suite_root else []
    if BUNDLED_SUITE not in roots:
        roots.append(BUNDLED_SUITE)
    return roots


def _file_for(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.py", folder / name / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _import_file(path: Path, kind: str, name: str) -> ModuleType:
    path = path.resolve()
    if path in _loaded:
        return _loaded[path]
    safe_name = re.sub(r"\W", "_", name)  # "corebench-v1.1" must not add a dotted submodule
    module_name = f"corebench_plugins.{kind}.{safe_name}_{abs(hash(path)) % 10**8}"
    spec = importlib.util.spec_from_file_location(
        module_name, path, submodule_search_locations=[str(path.parent)] if path.name == "__init__.py" else None)
    if spec is None or spec.loader is None:
        raise UserError(f"{path}: cannot be imported as a {kind[:-1]} plugin")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    _loaded[path] = module
    return module


def available(kind: str, suite_root: Path | None = None) -> list[str]:
    names: set[str] = set()
    for root in _search_roots(suite_root):
        folder = root / kind
        if folder.is_dir():
            for entry in folder.iterdir():
                if entry.name.startswith(("_", ".")):
                    continue
                if entry.suffix == ".py" or (entry / "__init__.py").is_file():
                    names.add(entry.stem if entry.suffix == ".py" else entry.name)
    names.update(ep.name for ep in entry_points(group=f"corebench_runner.{kind}"))
    return sorted(names)


def load_plugin(kind: str, name: str, suite_root: Path | None = None) -> Any:
    """Return the plugin object (e.g. a grader) named `name`, or raise a UserError listing the choices."""
    return find_plugin(kind, name, suite_root)[0]


def find_plugin(kind: str, name: str, suite_root: Path | None = None) -> tuple[Any, str]:
    """(the plugin object, where it came from: its file, or its entry point), for messages about it."""
    export = EXPORTS.get(kind)
    for root in _search_roots(suite_root):
        path = _file_for(root / kind, name)
        if path is not None:
            module = _import_file(path, kind, name)
            if export and not hasattr(module, export):
                raise UserError(f"{path}: a {kind[:-1]} plugin must define {export}")
            return (getattr(module, export) if export else module), str(path)
    for ep in entry_points(group=f"corebench_runner.{kind}"):
        if ep.name == name:
            return ep.load(), f"entry point {name} ({ep.value})"
    choices = ", ".join(available(kind, suite_root)) or "none"
    raise UserError(f"unknown {kind[:-1]} {name!r}; choose one of: {choices} "
                    f"(or add {kind}/{name}.py to the suite)")
