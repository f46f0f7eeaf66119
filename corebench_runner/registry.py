"""One registry for every kind of plugin: scaffolds, graders, sandboxes, models and executors, found by name.

A plugin of kind K named N is, first match winning:
  1. the suite's own file, <suite>/K/N.py or <suite>/K/N/__init__.py (scaffolds and graders only);
  2. entry point N in group `corebench.K` of an installed package (a third party's);
  3. entry point N in group `corebench.K` of corebench-runner itself: the built-ins, declared in
     pyproject.toml exactly like a third party's.
An entry point names the plugin object itself, a module exposing it (GRADER or SCAFFOLD, as a suite
file does), or a PluginFile: a plugin kept as a file whose name is no module name (corebench-v1.1.py),
loaded by path like a suite's.

This module only finds and loads; each layer asks it for its own kind (capsules/plugins.py for
scaffolds and graders, sandbox/providers.py, models/factory.py, executors/).
"""

from __future__ import annotations

import functools
import importlib.util
import re
import sys
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from types import ModuleType
from typing import Any

from corebench_runner.errors import UserError

KINDS = ("scaffolds", "graders", "sandboxes", "models", "executors")
GROUP_PREFIX = "corebench."
# The groups documented before the registry (scaffolds and graders only); still read, after the new ones.
LEGACY_GROUPS = {"scaffolds": "corebench_runner.scaffolds", "graders": "corebench_runner.graders"}
SINGULAR = {"scaffolds": "scaffold", "graders": "grader", "sandboxes": "sandbox", "models": "model provider",
            "executors": "executor"}
# The kinds a suite folder may hold as files, and the module-level object such a file exposes.
SUITE_EXPORTS = {"graders": "GRADER", "scaffolds": "SCAFFOLD"}
OWN_DISTRIBUTION = "corebench-runner"
BUILT_IN_PACKAGE = "corebench_runner.bundled"  # the bundled suite: its graders/ and scaffolds/ are the built-ins

BUILT_IN, PACKAGE, SUITE = "built in", "package", "suite"


@dataclass(frozen=True)
class PluginFile:
    """An entry point's target for a plugin kept as a file in a package (loaded by path, never imported by name)."""

    package: str
    relative: str  # e.g. "graders/corebench-v1.1.py" or "scaffolds/core-agent/__init__.py"

    def path(self) -> Path:
        return Path(str(resources.files(self.package).joinpath(self.relative)))


@dataclass(frozen=True)
class Plugin:
    """Where one plugin comes from; loading it is load()'s job."""

    kind: str
    name: str
    origin: str  # BUILT_IN, PACKAGE or SUITE
    version: str  # the distribution's version; "" for a suite file (its object may say, see plugin_version)
    source: str  # the entry point's value and its distribution, or the suite file's path
    entry_point: metadata.EntryPoint | None = None
    path: Path | None = None

    @property
    def where(self) -> str:
        """How a message names where the plugin came from."""
        if self.origin == SUITE:
            return f"suite file {self.path}"
        if self.origin == BUILT_IN:
            return "built in"
        return f"package {self.entry_point.dist.name if self.entry_point and self.entry_point.dist else '?'}"


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def _entry_points() -> metadata.EntryPoints:
    """Every installed package's entry points, read once per process (one pass over the installed packages)."""
    return metadata.entry_points()


@functools.cache
def entry_point_plugins(kind: str) -> tuple[Plugin, ...]:
    """Every installed package's plugins of this kind, third parties' before the built-ins (they may replace one)."""
    found: dict[tuple[str, str], Plugin] = {}
    groups = [GROUP_PREFIX + kind] + ([LEGACY_GROUPS[kind]] if kind in LEGACY_GROUPS else [])
    for ep in (ep for group in groups for ep in _entry_points().select(group=group)):
        dist_name = ep.dist.name if ep.dist else "?"
        built_in = _normalised(dist_name) == OWN_DISTRIBUTION
        version = ep.dist.version if ep.dist else ""
        found.setdefault((ep.name, dist_name), Plugin(kind, ep.name, BUILT_IN if built_in else PACKAGE, version,
                                                      f"{ep.value} ({dist_name} {version})", entry_point=ep))
    return tuple(sorted(found.values(), key=lambda p: (p.origin == BUILT_IN, p.name)))


def _file_for(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.py", folder / name / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_built_in_folder(folder: Path) -> bool:
    """The bundled suite's own plugin folders hold the built-ins, which the entry points already register."""
    spec = importlib.util.find_spec(BUILT_IN_PACKAGE)
    roots = spec.submodule_search_locations if spec and spec.submodule_search_locations else []
    return any(folder.resolve() == (Path(root) / folder.name).resolve() for root in roots)


def suite_plugins(kind: str, suite_root: Path | None) -> tuple[Plugin, ...]:
    """The suite's own plugin files of this kind (none for kinds a suite cannot hold)."""
    if suite_root is None or kind not in SUITE_EXPORTS:
        return ()
    folder = Path(suite_root) / kind
    if not folder.is_dir() or _is_built_in_folder(folder):
        return ()
    plugins = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(("_", ".")):
            continue
        name = entry.stem if entry.suffix == ".py" else entry.name
        path = _file_for(folder, name)
        if path is not None:
            plugins.append(Plugin(kind, name, SUITE, "", str(path), path=path))
    return tuple(plugins)


def candidates(kind: str, suite_root: Path | None = None) -> list[Plugin]:
    """Every plugin of this kind in precedence order; a later one of the same name is overridden."""
    if kind not in KINDS:
        raise ValueError(f"no plugin kind {kind!r}; the kinds are {', '.join(KINDS)}")
    return [*suite_plugins(kind, suite_root), *entry_point_plugins(kind)]


def plugins(kind: str, suite_root: Path | None = None) -> dict[str, Plugin]:
    """The plugin each name means (the first in precedence), by name."""
    chosen: dict[str, Plugin] = {}
    for plugin in candidates(kind, suite_root):
        chosen.setdefault(plugin.name, plugin)
    return dict(sorted(chosen.items()))


def names(kind: str, suite_root: Path | None = None) -> list[str]:
    return list(plugins(kind, suite_root))


def find(kind: str, name: str, suite_root: Path | None = None, flag: str | None = None) -> Plugin:
    """The plugin `name` of this kind, or a UserError listing every one there is and where it came from."""
    found = plugins(kind, suite_root)
    if name in found:
        return found[name]
    raise UserError(unknown_message(kind, name, found, flag))


def unknown_message(kind: str, name: str, found: dict[str, Plugin], flag: str | None = None) -> str:
    choices = ", ".join(f"{p.name} ({p.where})" for p in found.values()) or "none"
    if kind in SUITE_EXPORTS:
        hint = f"add {kind}/{name}.py to the suite, or install a package declaring it"
    else:
        hint = "install a package declaring it"
    hint += f" (entry point group {GROUP_PREFIX}{kind})"
    if not any(p.origin == BUILT_IN for p in entry_point_plugins(kind)):
        hint += ("; corebench-runner's own plugins are not registered in this Python environment: "
                 "reinstall it (`pip install -e .` in a checkout)")
    prefix = f"{flag}: " if flag else ""
    return f"{prefix}unknown {SINGULAR[kind]} {name!r}; choose one of: {choices}; or {hint}"


def load(kind: str, name: str, suite_root: Path | None = None, flag: str | None = None) -> tuple[Any, str]:
    """(the plugin object, where it was loaded from: its file or its entry point), for messages about it.

    A plugin that fails to load is a UserError naming it and its package, never a traceback."""
    return load_found(find(kind, name, suite_root, flag))


def load_found(plugin: Plugin) -> tuple[Any, str]:
    export = SUITE_EXPORTS.get(plugin.kind)
    if plugin.path is not None:
        module = import_file(plugin.path, plugin.kind, plugin.name)
        return _exported(module, export, str(plugin.path), plugin.kind), str(plugin.path)
    assert plugin.entry_point is not None
    try:
        target = plugin.entry_point.load()
    except Exception as exc:  # a third party's broken package: say which, never a traceback
        raise UserError(f"{SINGULAR[plugin.kind]} {plugin.name!r} from {plugin.where} ({plugin.entry_point.value}) "
                        f"failed to load: {type(exc).__name__}: {exc}") from None
    if isinstance(target, PluginFile):
        path = target.path()
        return _exported(import_file(path, plugin.kind, plugin.name), export, str(path), plugin.kind), str(path)
    where = f"entry point {plugin.name} = {plugin.source}"
    if isinstance(target, ModuleType):
        return _exported(target, export, where, plugin.kind), where
    return target, where


def _exported(module: ModuleType, export: str | None, where: str, kind: str) -> Any:
    if export is None:
        return module
    if not hasattr(module, export):
        raise UserError(f"{where}: a {SINGULAR[kind]} plugin must define {export}")
    return getattr(module, export)


_imported: dict[Path, ModuleType] = {}


def import_file(path: Path, kind: str, name: str) -> ModuleType:
    """Import a plugin file by path, once per process; plugin files never import each other."""
    path = path.resolve()
    if path in _imported:
        return _imported[path]
    safe_name = re.sub(r"\W", "_", name)  # "corebench-v1.1" must not add a dotted submodule
    module_name = f"corebench_plugins.{kind}.{safe_name}_{abs(hash(path)) % 10**8}"
    spec = importlib.util.spec_from_file_location(
        module_name, path, submodule_search_locations=[str(path.parent)] if path.name == "__init__.py" else None)
    if spec is None or spec.loader is None:
        raise UserError(f"{path}: cannot be imported as a {SINGULAR[kind]} plugin")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    _imported[path] = module
    return module


@dataclass(frozen=True)
class Listed:
    """One line of `corebench plugins`."""

    plugin: Plugin
    overridden_by: Plugin | None


def listing(suite_root: Path | None = None) -> list[Listed]:
    """Every plugin of every kind, each marked with the one overriding it, if any."""
    rows = []
    for kind in KINDS:
        winners: dict[str, Plugin] = {}
        for plugin in candidates(kind, suite_root):
            winner = winners.setdefault(plugin.name, plugin)
            rows.append(Listed(plugin, None if winner is plugin else winner))
    return rows
