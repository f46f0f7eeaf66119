"""The package's folders are its jobs, layered as pyproject.toml's import-linter contract says.

A user never sees this, but a newcomer reads the tree first: these tests keep the tree, the
written contract and docs/architecture.md telling the same story, keep the scripted test doubles
(corebench_scripted/) out of the engine's imports, and keep the code free of unused or undefined
names and its imports in order (ruff, as pyproject.toml's [tool.ruff] says).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "corebench_runner"
SCRIPTED = ROOT / "corebench_scripted"
NOT_A_JOB = {"__init__.py", "data", "__pycache__"}


def layers() -> list[list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["name"] == "Jobs are layered"]
    return [[name.strip().removeprefix("corebench_runner.") for name in re.split(r"[|:]", layer)]
            for layer in contract["layers"]]


def lint_imports(package_parent: Path) -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run([str(command), "--config", str(package_parent / "pyproject.toml"), "--no-cache"],
                          cwd=package_parent, env=env, capture_output=True, text=True, timeout=300)


def test_the_layers_contract_holds():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_finds_no_unused_or_undefined_name_and_no_import_out_of_order():
    command = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(command), "check", "--no-cache", "--output-format", "concise", str(ROOT)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_top_level_folder_and_module_is_in_a_layer():
    listed = {name for layer in layers() for name in layer}
    present = {entry.name.removesuffix(".py") for entry in PACKAGE.iterdir()
               if entry.name not in NOT_A_JOB and (entry.is_dir() or entry.suffix == ".py")}
    assert present == listed, f"in the tree but no layer: {sorted(present - listed)}; " \
                              f"in a layer but not the tree: {sorted(listed - present)}"


def _copy_of_the_code(tmp_path: Path) -> None:
    for package in (PACKAGE, SCRIPTED):
        shutil.copytree(package, tmp_path / package.name, ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)


def test_the_contract_catches_a_lower_layer_importing_a_higher_one(tmp_path):
    _copy_of_the_code(tmp_path)
    database = tmp_path / "corebench_runner" / "store" / "database.py"
    database.write_text(database.read_text() + "\nfrom corebench_runner.running import run  # upward\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "corebench_runner.store is not allowed to import corebench_runner.running" in result.stdout


def test_the_agents_contract_catches_core_agent_reaching_into_the_cli_agents(tmp_path):
    _copy_of_the_code(tmp_path)
    tools = tmp_path / "corebench_runner" / "agents" / "core_agent" / "tools.py"
    tools.write_text(tools.read_text() + "\nfrom corebench_runner.agents.cli_agents import recipe  # sideways\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "The agents' parts are layered BROKEN" in result.stdout


def test_the_contract_catches_the_engine_importing_a_scripted_test_double(tmp_path):
    _copy_of_the_code(tmp_path)
    run = tmp_path / "corebench_runner" / "running" / "run.py"
    run.write_text(run.read_text() + "\nfrom corebench_scripted import sessions  # a test double in the engine\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "The engine never imports the scripted test doubles BROKEN" in result.stdout
    assert "corebench_runner.running.run -> corebench_scripted.sessions" in result.stdout


def test_the_scripted_model_is_a_plugin_found_by_its_entry_point():
    """Nothing in the engine names corebench_scripted: `--model scripted:FILE` reaches it through the registry."""
    from corebench_runner import registry

    (plugin,) = [p for p in registry.entry_point_plugins("models") if p.name == "scripted"]
    assert plugin.entry_point is not None and plugin.entry_point.value.startswith("corebench_scripted.")
    mentions = [str(path.relative_to(ROOT)) for path in PACKAGE.rglob("*.py")
                if "corebench_scripted" in path.read_text().replace("corebench_scripted/", "")]
    assert mentions == [], f"the engine imports or names the scripted package: {mentions}"


def test_architecture_md_names_every_module_and_only_modules_that_exist():
    text = (ROOT / "docs" / "architecture.md").read_text()
    named = {name for name in re.findall(r"`((?:[a-z_]+/)+[a-z_0-9]+\.py)`", text)
             if (PACKAGE / name.split("/")[0]).is_dir() or name.startswith(f"{SCRIPTED.name}/")}
    # (tests/ and benchmarks/ are named too); the scripted package by its own name
    modules = {str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
               if path.name != "__init__.py" and "__pycache__" not in path.parts}
    modules |= {str(path.relative_to(ROOT)) for path in SCRIPTED.glob("*.py") if path.name != "__init__.py"}
    top_level = {m for m in modules if "/" not in m}
    for module in top_level:  # records.py and its neighbours are named bare
        if f"`{module}`" in text:
            named.add(module)
    missing = sorted(modules - named)
    stale = sorted(n for n in named if not ((PACKAGE / n).is_file() or (ROOT / n).is_file()))
    assert not missing, f"docs/architecture.md does not name: {missing}"
    assert not stale, f"docs/architecture.md names modules that do not exist: {stale}"
