"""The package's folders are its jobs, layered as pyproject.toml's import-linter contract says.

A user never sees this, but a newcomer reads the tree first: these tests keep the tree, the
written contract and docs/architecture.md telling the same story, keep the import paths that
older plugins use working, and keep the code free of unused or undefined names and its imports in
order (ruff, as pyproject.toml's [tool.ruff] says).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import pytest

import corebench_runner
from corebench_runner.moved_modules import MOVED

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "corebench_runner"
NOT_A_JOB = {"__init__.py", "moved_modules.py", "data", "__pycache__"}


def layers() -> list[list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
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


def test_the_contract_catches_a_lower_layer_importing_a_higher_one(tmp_path):
    shutil.copytree(PACKAGE, tmp_path / "corebench_runner", ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    database = tmp_path / "corebench_runner" / "store" / "database.py"
    database.write_text(database.read_text() + "\nfrom corebench_runner.running import run  # upward\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "corebench_runner.store is not allowed to import corebench_runner.running" in result.stdout


def test_architecture_md_names_every_module_and_only_modules_that_exist():
    text = (ROOT / "docs" / "architecture.md").read_text()
    named = {name for name in re.findall(r"`((?:[a-z_]+/)+[a-z_0-9]+\.py)`", text)
             if (PACKAGE / name.split("/")[0]).is_dir()}  # tests/ and benchmarks/ are named too
    modules = {str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
               if path.name != "__init__.py" and "__pycache__" not in path.parts}
    modules -= {"moved_modules.py"}
    top_level = {m for m in modules if "/" not in m}
    for module in top_level:  # records.py and its neighbours are named bare
        if f"`{module}`" in text:
            named.add(module)
    missing = sorted(modules - named)
    stale = sorted(n for n in named if not (PACKAGE / n).is_file())
    assert not missing, f"docs/architecture.md does not name: {missing}"
    assert not stale, f"docs/architecture.md names modules that do not exist: {stale}"


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_import_path_gives_the_moved_module_itself_with_a_warning(old):
    sys.modules.pop(f"corebench_runner.{old}", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = __import__(f"corebench_runner.{old}", fromlist=["_"])
    new = __import__(f"corebench_runner.{MOVED[old]}", fromlist=["_"])
    assert module is new
    assert any(f"corebench_runner.{MOVED[old]}" in str(w.message) for w in caught if w.category is DeprecationWarning)
    sys.modules.pop(f"corebench_runner.{old}", None)


def test_a_grader_plugin_written_against_the_old_layout_still_grades(tmp_path):
    from corebench_runner.capsules.format import Question
    from corebench_runner.capsules.plugins import load_plugin

    (tmp_path / "graders").mkdir()
    (tmp_path / "graders" / "legacy.py").write_text(
        "from corebench_runner import official_rule\n"
        "from corebench_runner.capsule import Question\n"
        "from corebench_runner.grading import NOT_REPORTED\n"
        "from corebench_runner.records import Verdict, VerdictStatus\n\n"
        "class Legacy:\n"
        "    name = 'legacy'\n"
        "    version = '1'\n"
        "    def grade(self, question: Question, reported):\n"
        "        if reported is None:\n"
        "            return Verdict(VerdictStatus.INCORRECT, NOT_REPORTED)\n"
        "        ok = official_rule.check(list(question.runs), reported).correct\n"
        "        return Verdict(VerdictStatus.CORRECT if ok else VerdictStatus.INCORRECT, 'official rule')\n\n"
        "GRADER = Legacy()\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        grader = load_plugin("graders", "legacy", tmp_path)
    question = Question(text="Report the mean.", runs=(1.0, 1.1, 0.9))
    assert grader.grade(question, 1.0).status.value == "correct"
    assert grader.grade(question, 7.0).status.value == "incorrect"
    assert corebench_runner.__version__
