"""`corebench plugins`: every scaffold, grader, sandbox, model provider and executor, with its version and origin."""

from __future__ import annotations

import json

import click

from corebench_runner import registry
from corebench_runner.cli.common import echo_table, suite_from


def _version(plugin: registry.Plugin) -> tuple[str, str]:
    """(version, what is wrong): a package's version; a suite file's own `version`, when it says (loading it
    is the only way to know), or why it does not load."""
    if plugin.origin != registry.SUITE:
        return plugin.version, ""
    try:
        loaded, _ = registry.load_found(plugin)
    except Exception as exc:  # a broken suite file is listed with what is wrong, not a traceback
        return "?", f" (fails to load: {getattr(exc, 'message', exc)})"
    return str(getattr(loaded, "version", "") or "-"), ""


def _origin(listed: registry.Listed) -> str:
    plugin = listed.plugin
    text = plugin.where if plugin.origin != registry.PACKAGE else f"{plugin.where} ({plugin.entry_point.value})"
    if listed.overridden_by is not None:
        text += f"; overridden by {listed.overridden_by.where}"
    return text


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@click.pass_context
def plugins_command(ctx: click.Context, as_json: bool) -> None:
    """List every plugin: kind, name, version and origin (built in, an installed package, or the suite's file).

    Plugins are installed packages' entry points (groups corebench.scaffolds, corebench.graders,
    corebench.sandboxes, corebench.models, corebench.executors) and the suite's own scaffolds/ and
    graders/, which override one of the same name.
    """
    suite = suite_from(ctx)
    rows = []
    for listed in registry.listing(suite.root):
        version, problem = _version(listed.plugin)
        rows.append((registry.SINGULAR[listed.plugin.kind], listed.plugin.name, version, _origin(listed) + problem,
                     listed))
    if as_json:
        click.echo(json.dumps([{"kind": kind, "name": name, "version": version, "origin": listed.plugin.origin,
                                "source": listed.plugin.source, "active": listed.overridden_by is None}
                               for kind, name, version, _, listed in rows], indent=2))
        return
    click.echo(f"suite: {suite.root}")
    echo_table(["kind", "name", "version", "origin"], [[kind, name, version, origin]
                                                       for kind, name, version, origin, _ in rows])
