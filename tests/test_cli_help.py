"""Every command and option is documented: in --help and in the README."""

from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner

from corebench_runner.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def walk(command: click.Command, path: tuple[str, ...] = ()):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, path + (name,))


def test_every_command_and_option_has_help_text():
    missing = []
    for path, command in walk(main):
        if not (command.help or command.short_help):
            missing.append(" ".join(path) or "corebench")
        for param in command.params:
            if isinstance(param, click.Option) and not param.help and param.name not in ("help", "version"):
                missing.append(f"{' '.join(path)} {param.opts[0]}")
    assert missing == []


def test_every_command_answers_help():
    runner = CliRunner()
    for path, _ in walk(main):
        result = runner.invoke(main, [*path, "--help"], prog_name="corebench")
        assert result.exit_code == 0, (path, result.output)
        assert "Usage: corebench" in result.output
        if path:  # --suite is the group's, typed anywhere: each command's own help says it takes it
            assert "--suite DIR" in result.output, path


def test_every_command_and_option_appears_in_the_readme():
    missing = []
    for path, command in walk(main):
        if path and f"corebench {' '.join(path)}" not in README:
            missing.append(f"corebench {' '.join(path)}")
        for param in command.params:
            if isinstance(param, click.Option) and param.name not in ("help", "version"):
                if param.opts[0] not in README:
                    missing.append(f"{' '.join(path)} {param.opts[0]}")
    assert missing == [], "document these in README.md"


def test_a_bad_flag_is_a_usage_error_not_a_traceback():
    result = CliRunner().invoke(main, ["capsule", "list", "--no-such-flag"])
    assert result.exit_code == 2
    assert "No such option" in result.output and "Traceback" not in result.output
