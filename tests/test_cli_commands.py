"""Every command a user can type is reachable, from its one declaration, and loads only its own module."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import click
from click.testing import CliRunner

import corebench_runner.cli as cli_package
from corebench_runner.cli import COMMAND_GROUP, declared_commands, defined_commands, main

ROOT = Path(__file__).resolve().parents[1]


def declared_in_pyproject() -> dict[str, str]:
    """The commands pyproject.toml declares (what an install's metadata will say): name -> module:object."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {name: value.removeprefix("corebench_runner.cli.")
            for name, value in project["entry-points"][COMMAND_GROUP].items()}


def where_defined() -> dict[str, str]:
    """Every top-level command the modules of cli/ define: name -> module:object."""
    found = {}
    for info in pkgutil.iter_modules(cli_package.__path__):
        module = importlib.import_module(f"corebench_runner.cli.{info.name}")
        for attribute, value in vars(module).items():
            if isinstance(value, click.Command) and defined_commands().get(value.name) is value:
                found[value.name] = f"{info.name}:{attribute}"
    return found


def test_every_command_the_cli_modules_define_is_declared_where_it_lives():
    """A command written but not declared in pyproject.toml would load only the slow way (every module): fail."""
    assert where_defined() == declared_in_pyproject()


def test_every_subcommand_is_reachable_from_corebench():
    def reachable(command: click.Command) -> list[click.Command]:
        found = [command]
        for sub in (command.commands.values() if isinstance(command, click.Group) else ()):
            found += reachable(sub)
        return found

    seen = {id(command) for command in reachable(main)}
    unreachable = []
    for info in pkgutil.iter_modules(cli_package.__path__):
        module = importlib.import_module(f"corebench_runner.cli.{info.name}")
        unreachable += [f"{info.name}:{name}" for name, value in vars(module).items()
                        if isinstance(value, click.Command) and value is not main and id(value) not in seen]
    assert unreachable == []


def test_each_declared_name_is_the_name_of_the_command_it_loads():
    for name, entry in declared_commands().items():
        assert entry.load().name == name, entry.value


def test_capsule_check_is_a_command_of_the_capsule_group():
    result = CliRunner().invoke(main, ["capsule", "check", "--help"], prog_name="corebench")
    assert result.exit_code == 0, result.output
    assert "Usage: corebench capsule check [OPTIONS] CAPSULE_ID" in result.output
    assert "--record" in result.output


def _corebench(*args: str, pythonpath: str | None = None, code: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    script = code or "from corebench_runner.cli import main; main()"
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, timeout=120)


def test_a_command_imports_only_the_module_it_lives_in():
    code = ("import sys\nfrom corebench_runner.cli import main\n"
            "try:\n    main(['runs', '--help'], prog_name='corebench')\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('corebench_runner.cli.')))")
    result = _corebench(code=code)
    assert result.returncode == 0, result.stderr
    assert "Usage: corebench runs" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "['corebench_runner.cli.common', 'corebench_runner.cli.run']"


def test_a_command_this_install_does_not_declare_yet_is_still_found(tmp_path: Path):
    """An editable install's metadata predates a command added since (not reinstalled): it still runs."""
    stale = tmp_path / "corebench_runner-0.1.0.dist-info"
    stale.mkdir()
    (stale / "METADATA").write_text("Metadata-Version: 2.1\nName: corebench-runner\nVersion: 0.1.0\n")
    older = {name: where for name, where in declared_in_pyproject().items() if name != "verify"}
    (stale / "entry_points.txt").write_text(f"[{COMMAND_GROUP}]\n" + "".join(
        f"{name} = corebench_runner.cli.{where}\n" for name, where in older.items()))
    package_root = str(Path(cli_package.__file__).resolve().parents[2])
    pythonpath = os.pathsep.join([package_root, str(tmp_path)])
    verify = _corebench("verify", "--help", pythonpath=pythonpath)
    assert verify.returncode == 0, verify.stderr
    assert "Re-run each task's kept reproduce.sh" in verify.stdout
    listed = _corebench("--help", pythonpath=pythonpath)
    assert listed.returncode == 0 and "  verify " in listed.stdout
