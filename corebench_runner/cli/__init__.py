"""The `corebench` command: a click group; each command lives in a module of its group, declared in pyproject.toml.

Only parsing and printing happen here. A UserError raised anywhere below is printed as
one line `error: ...` with exit code 2, never a traceback.
"""

from __future__ import annotations

import atexit
import errno
import functools
import gc
import importlib
import pkgutil
import sqlite3
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import click

from corebench_runner import __version__
from corebench_runner.errors import UserError
from corebench_runner.gc_paused import gc_paused
from corebench_runner.store.database import default_store_path, last_opened
from corebench_runner.store.health import store_failure
from corebench_runner.terminal import printable

# Every top-level command is declared once, as an entry point of this group in pyproject.toml: the CLI
# lists commands from these names and imports only the module of the command typed, so `corebench run`
# never loads every command's libraries (git, requests, flask, ...).
COMMAND_GROUP = "corebench.commands"
DISTRIBUTION = "corebench-runner"


@functools.cache
def declared_commands() -> dict[str, metadata.EntryPoint]:
    """Each command's name and where it lives, as this install's metadata says, without importing any of them."""
    try:
        distribution = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return {}
    return {entry.name: entry for entry in distribution.entry_points.select(group=COMMAND_GROUP)}


@functools.cache
def defined_commands() -> dict[str, click.Command]:
    """Every top-level command the modules of cli/ define, found by importing them all: the slow way, for an
    editable install whose metadata predates a command (pyproject.toml changed, not yet reinstalled)."""
    found: list[click.Command] = []
    for module_info in pkgutil.iter_modules(__path__):
        with gc_paused():
            module = importlib.import_module(f"{__name__}.{module_info.name}")
        found += [value for value in vars(module).values() if isinstance(value, click.Command) and value is not main]
    below = {id(sub) for command in found if isinstance(command, click.Group) for sub in command.commands.values()}
    return {command.name: command for command in found if id(command) not in below and command.name}


class CorebenchGroup(click.Group):
    """Turns user errors into one clean line and an exit code of 2; imports a command's module when it is needed."""

    @property
    def commands(self) -> dict[str, click.Command]:  # type: ignore[override]
        for name in self.list_commands(None):  # type: ignore[arg-type]
            self.get_command(None, name)  # type: ignore[arg-type]
        return self._commands

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._commands = value

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        self._commands[name or cmd.name or ""] = cmd

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self._commands:
            entry = declared_commands().get(cmd_name)
            try:
                with gc_paused():  # a command's libraries (docker, tqdm, jinja2, ...) load faster so
                    command = entry.load() if entry is not None else None
            except (ImportError, AttributeError):  # declared where a stale install's metadata says it was
                command = None
            if command is None:  # a stale install's metadata: still found, slowly
                command = defined_commands().get(cmd_name)
            if command is None:
                return None
            _mention_suite_option(command)
            self._commands[cmd_name] = command
        return self._commands[cmd_name]

    def list_commands(self, ctx: click.Context) -> list[str]:
        # Help shows every command (and imports them all for their help text anyway): a stale install's too.
        return sorted(set(declared_commands()) | set(defined_commands()))

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, suite_option_first(args))

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            click.echo(f"error: {printable(exc.message)}", err=True)  # a message may quote agent text
            sys.exit(exc.exit_code)
        except sqlite3.DatabaseError as exc:  # a store that failed after it opened (store.open_store checks it)
            click.echo(f"error: {store_failure(last_opened() or default_store_path(), exc)}", err=True)
            sys.exit(UserError.exit_code)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            click.echo(f"error: {exc.filename or 'a file'}: no space left on the device; free space there, then "
                       "run again (`corebench run --resume RUN` finishes an interrupted run)", err=True)
            sys.exit(UserError.exit_code)
        except OverflowError as exc:  # an id past SQLite's 64-bit integers, typed or pasted
            click.echo(f"error: a number given is too large ({exc}); ids and counts are at most {2 ** 63 - 1}",
                       err=True)
            sys.exit(UserError.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


# --suite belongs to the group but is typed anywhere: each command's help says so, since click shows only its own.
SUITE_NOTE = ("Every command also takes --suite DIR (a suite folder holding capsules/, or `bundled`), before or "
              "after its name; default: $COREBENCH_SUITE, else this folder when it has capsules/, else the "
              "bundled suite.")


def _mention_suite_option(command: click.Command) -> None:
    if not command.epilog:
        command.epilog = SUITE_NOTE
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _mention_suite_option(sub)


def suite_option_first(args: list[str]) -> list[str]:
    """--suite is the group's option, but users type it anywhere (`corebench run --suite bundled`): move it first."""
    moved: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest.extend(args[index:])
            break
        if arg == "--suite" and index + 1 < len(args):
            moved.extend(args[index:index + 2])
            index += 2
            continue
        (moved if arg.startswith("--suite=") else rest).append(arg)
        index += 1
    return moved + rest


def checkout_commit() -> str | None:
    """The commit of the git checkout this package runs from (editable install), "-dirty" when edited; else None."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists() or not (root / "pyproject.toml").is_file():
        return None  # an installed wheel: its folder is site-packages, no checkout
    try:
        described = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty", "--abbrev=12"],
                                   capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return described.stdout.strip() or None if described.returncode == 0 else None


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    commit = checkout_commit()
    click.echo(f"corebench {__version__}" + (f" (commit {commit})" if commit else ""))
    ctx.exit()


@click.group(cls=CorebenchGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version (and, from a git checkout, its commit) and exit.")
@click.option("--suite", "suite", type=click.Path(file_okay=False), envvar="COREBENCH_SUITE",
              help="Suite folder holding capsules/, or `bundled` for the suite installed with corebench "
                   "(default: the current directory if it has capsules/, else the bundled suite). "
                   "Also $COREBENCH_SUITE.")
@click.pass_context
def main(ctx: click.Context, suite: str | None) -> None:
    """Run paper-reproduction agent benchmarks: capsules in, graded, reviewed, reported."""
    ctx.ensure_object(dict)
    ctx.obj["suite"] = suite


# The interpreter's last garbage collection walks every object the SDKs made (0.6 s); the OS frees
# memory at exit anyway. Runs after non-daemon threads (e.g. task cleanups) have finished.
atexit.register(gc.freeze)
