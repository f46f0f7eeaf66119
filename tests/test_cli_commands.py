"""Every command a user can type is reachable, from its one declaration, and loads only its own module."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

import corebench_runner.cli as cli_package
from corebench_runner.cli import COMMAND_GROUP, declared_commands, main


def reachable(command: click.Command) -> list[click.Command]:
    found = [command]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            found += reachable(sub)
    return found


def defined_commands() -> dict[str, click.Command]:
    """Every click command a module of cli/ defines at its top level, by module:name."""
    found: dict[str, click.Command] = {}
    for info in pkgutil.iter_modules(cli_package.__path__):
        module = importlib.import_module(f"corebench_runner.cli.{info.name}")
        for attribute, value in vars(module).items():
            if isinstance(value, click.Command) and value is not main:
                found[f"{info.name}:{attribute}"] = value
    return found


def test_every_command_the_cli_modules_define_is_reachable_from_corebench():
    """A command written but not declared in pyproject.toml (or a subcommand not attached) would fail here."""
    seen = {id(command) for command in reachable(main)}
    unreachable = sorted(where for where, command in defined_commands().items() if id(command) not in seen)
    assert unreachable == [], f"declare these in pyproject.toml's {COMMAND_GROUP} entry points: {unreachable}"


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


def test_an_install_that_declares_no_commands_says_how_to_fix_it_in_one_line(tmp_path: Path):
    stale = tmp_path / "corebench_runner-0.1.0.dist-info"  # an install older than the commands' declaration
    stale.mkdir()
    (stale / "METADATA").write_text("Metadata-Version: 2.1\nName: corebench-runner\nVersion: 0.1.0\n")
    package_root = str(Path(cli_package.__file__).resolve().parents[2])
    result = _corebench("runs", pythonpath=os.pathsep.join([package_root, str(tmp_path)]))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: this install of corebench-runner declares no commands ({COMMAND_GROUP} entry points in "
        "pyproject.toml); reinstall it (`pip install -e .` in a checkout, or the wheel)"]
