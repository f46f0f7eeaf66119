"""Old import paths keep working: modules that moved into subpackages answer to their old names.

Plugins written against an older layout (`from corebench_runner import official_rule`,
`from corebench_runner.agent_tools import Toolbox`) import the module at its new home, and a
DeprecationWarning names the path to use. The old name is the same module object, not a copy,
so a monkeypatch or an isinstance check through either name sees one thing.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

# old name under corebench_runner -> new name under corebench_runner
MOVED = {
    "capsule": "capsules.format", "capsule_files": "capsules.files", "capsule_archives": "capsules.archives",
    "levels": "capsules.levels", "suite": "capsules.suite", "plugins": "capsules.plugins",
    "answer_leaks": "capsules.answer_leaks", "capsule_lint": "capsules.lint", "capsule_edit": "capsules.edit",
    "capsule_new": "capsules.new", "extract": "capsules.extract", "output_numbers": "capsules.output_numbers",
    "corebench_import": "capsules.corebench_import", "croissant": "capsules.croissant",
    "tarballs": "capsules.tarballs",
    "official_rule": "grading.official_rule", "official_rule_v11": "grading.official_rule_v11",
    "tolerance": "grading.tolerance",
    "answer_aliases": "grading.answer_aliases", "tasks_json": "grading.tasks_json",
    "scaffold": "agents.contract", "agent_tools": "agents.tools", "agent_context": "agents.context",
    "agent_cli": "agents.cli_session", "agent_image": "agents.image", "relay": "agents.relay",
    "relay_usage": "agents.relay_usage",
    "scripted_sessions": "models.scripted_sessions",
    "local_http": "servers.local_http", "sse": "servers.sse", "messages_server": "servers.messages_api",
    "openai_server": "servers.openai_api", "openai_wire": "servers.openai_wire",
    "store_schema": "store.schema", "store_health": "store.health", "results": "store.results",
    "reliability": "store.reliability", "usage_journal": "store.usage_journal", "lease": "store.lease",
    "review_evidence": "review.evidence", "review_io": "review.exchange", "cli.review_screen": "review.screen",
    "run": "running.run", "task_runner": "running.task", "recording": "running.recording",
    "progress": "running.progress", "capsule_health": "running.capsule_check",
    "capsule_reproduce": "running.reproduce", "retry": "running.retry", "rerun": "running.rerun",
    "task_cleanup": "running.cleanup", "task_folders": "running.folders", "task_outputs": "running.outputs",
    "preload": "running.preload", "tracing": "running.tracing",
}
# grading.py, store.py and review.py became packages of the same name: their names re-export.
PREFIX = "corebench_runner."


class _MovedModuleLoader(importlib.abc.Loader):
    def __init__(self, new_name: str) -> None:
        self.new_name = new_name

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        warnings.warn(f"{module.__name__} moved to {self.new_name}; import it from there",
                      DeprecationWarning, stacklevel=2)
        # The import system hands back whatever sys.modules holds for the old name after this.
        sys.modules[module.__name__] = importlib.import_module(self.new_name)


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds an old module name and loads the module at its new home under that name too."""

    def find_spec(self, fullname: str, path: object = None, target: object = None):
        old = fullname.removeprefix(PREFIX) if fullname.startswith(PREFIX) else None
        if old not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, _MovedModuleLoader(PREFIX + MOVED[old]))


def install() -> None:
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
