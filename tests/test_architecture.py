"""The package's folders are its jobs, layered as pyproject.toml's import-linter contract says.

A user never sees this, but a newcomer reads the tree first: these tests keep the tree, the
written contract and docs/architecture.md telling the same story, keep the scripted test doubles
(corebench_scripted/) out of the engine's imports, and keep the code free of unused or undefined
names and its imports in order (ruff, as pyproject.toml's [tool.ruff] says).
"""

from __future__ import annotations

import ast
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


# ----------------------------------------------------------------------------- SQL lives in store/ only

# Calls that run SQL (sqlite3's cursor and connection, pandas' readers), and SQL written in a string.
SQL_CALLS = {"execute", "executemany", "executescript", "read_sql", "read_sql_query", "read_sql_table"}
SQL_TEXT = re.compile(
    r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+(?:OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b"
    r"|\b(?:CREATE|ALTER|DROP)\s+(?:TABLE|INDEX|VIEW|TRIGGER)\b|\bBEGIN\s+IMMEDIATE\b|\bPRAGMA\s+\w"
    r"|\bWHERE\s+[\w.]+\s*(?:=|!=|<|>|IN\b|IS\b|LIKE\b)|\b(?:ORDER|GROUP)\s+BY\b|\bLIMIT\s+\?"
    r"|\bJOIN\s+\w+\s+(?:\w+\s+)?ON\b|\bCOALESCE\(")


def sql_outside_store(package: Path) -> list[str]:
    """file:line of every SQL call, and of every string holding SQL (docstrings aside), outside store/."""
    found = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if relative.parts[0] == "store" or "__pycache__" in relative.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        in_fstring = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
        for node in ast.walk(tree):
            where = f"{package.name}/{relative}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
                if name in SQL_CALLS:
                    found.append(f"{where}: calls {name}(")
            if isinstance(node, ast.JoinedStr):  # an f-string: its text with each {field} as a placeholder
                text = "".join(part.value if isinstance(part, ast.Constant) else "?" for part in node.values)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings | in_fstring:
                text = node.value
            else:
                continue
            if SQL_TEXT.search(text):
                found.append(f"{where}: SQL in a string: {text.strip()[:60]!r}")
    return sorted(found, key=lambda line: (line.split(":")[0], int(line.split(":")[1]), line))


def test_no_module_outside_store_runs_or_holds_sql():
    found = sql_outside_store(PACKAGE)
    assert not found, ("SQL outside corebench_runner/store/: give it a named function in a store/ module "
                       "and call that instead:\n" + "\n".join(found))


def test_the_sql_check_names_each_call_and_string_but_not_prose(tmp_path):
    package = tmp_path / "corebench_runner"
    (package / "store").mkdir(parents=True)
    (package / "store" / "ok.py").write_text('def f(conn):\n    conn.execute("SELECT id FROM runs")\n')
    (package / "report").mkdir()
    (package / "report" / "bad.py").write_text(
        '"""Reads SELECT id FROM runs in its docstring, which is prose."""\n'
        "import pandas as pd\n"
        "# conn.execute('DELETE FROM runs') in a comment is prose too\n"
        "def f(store, table):\n"
        '    """UPDATE runs SET x: a docstring again."""\n'
        '    store.conn.execute("PRAGMA foreign_keys=ON")\n'
        '    rows = store.query(f"SELECT * FROM {table} WHERE id = ?", (1,))\n'
        '    frame = pd.read_sql_query(sql, store.conn)\n'
        '    error = "Select a run from the list"\n'
        '    return ("INSERT INTO reviews (answer_id) "\n'
        '            "VALUES (?)")\n')
    found = sql_outside_store(package)
    assert [line.split(": ", 1)[0] for line in found] == [
        "corebench_runner/report/bad.py:6", "corebench_runner/report/bad.py:6", "corebench_runner/report/bad.py:7",
        "corebench_runner/report/bad.py:8", "corebench_runner/report/bad.py:10"], found
    assert "calls execute(" in found[0] + found[1] and "calls read_sql_query(" in found[3]
