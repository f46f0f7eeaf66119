"""Helpers shared by the CLI modules."""

from __future__ import annotations

from typing import Any

import click

from corebench_runner import registry
from corebench_runner.capsules.suite import Suite, resolve_suite
from corebench_runner.terminal import printable, printable_json

# --store, as every command that reads or writes results takes it.
store_option = click.option("--store", "store_path", type=click.Path(dir_okay=False), envvar="COREBENCH_STORE",
                            help="Results database (SQLite). Default: $COREBENCH_STORE, else results.sqlite "
                                 "in the user data folder.")


class PluginName(click.ParamType):
    """An option naming a plugin (--sandbox, --executor): checked against the registry when parsed, so a
    package's plugin is accepted and a wrong name gets the registry's one error listing every one."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.name = registry.SINGULAR[kind]

    def get_metavar(self, *args: Any, **kwargs: Any) -> str:
        return "[" + "|".join(registry.names(self.kind)) + "]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        found = registry.plugins(self.kind)
        if value not in found:
            self.fail(registry.unknown_message(self.kind, value, found), param, ctx)
        return value


def suite_from(ctx: click.Context, for_writing: bool = False) -> Suite:
    root = (ctx.find_root().obj or {}).get("suite")
    return resolve_suite(root, for_writing=for_writing)


def say(text: str = "", err: bool = False) -> None:
    """Print a line that may hold what an agent wrote, its control characters spelled out (terminal.py)."""
    click.echo(printable(text), err=err)


def say_json(data: object) -> None:
    """Print a JSON document that may hold what an agent wrote (terminal.printable_json)."""
    click.echo(printable_json(data))


def echo_table(headers: list[str], rows: list[list[object]]) -> None:
    """A plain aligned table that reads well over ssh and in logs (agent text in a cell spelled out)."""
    cells = [[str(c) for c in headers]] + [[("" if c is None else printable(str(c))) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if n == 0:
            click.echo("  ".join("-" * w for w in widths))
