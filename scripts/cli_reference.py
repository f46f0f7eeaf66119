"""Regenerate the command reference at the end of README.md from the click commands.

Run after adding or changing a command or option: python scripts/cli_reference.py
(tests/test_cli_help.py fails when the README is out of date).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from corebench_runner.cli import main

START = "<!-- cli-reference:start -->"
END = "<!-- cli-reference:end -->"
README = Path(__file__).resolve().parents[1] / "README.md"


def _walk(command: click.Command, path: tuple[str, ...] = ()):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _walk(sub, path + (name,))


def reference() -> str:
    lines = [START, ""]
    for path, command in _walk(main):
        if not path:
            continue
        ctx = click.Context(command, info_name=" ".join(("corebench",) + path))
        usage = command.get_usage(ctx).replace("Usage: ", "")
        summary = (command.help or "").strip().splitlines()[0] if command.help else ""
        lines.append(f"### `corebench {' '.join(path)}`\n")
        lines.append(f"{summary}\n")
        lines.append(f"    {usage}\n")
        options = [p for p in command.params if isinstance(p, click.Option) and p.name != "help"]
        for option in options:
            names = ", ".join(f"`{o}`" for o in option.opts + option.secondary_opts)
            lines.append(f"- {names}: {' '.join((option.help or '').split())}")
        if options:
            lines.append("")
    lines.append(END)
    return "\n".join(lines)


def render(text: str) -> str:
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return head + reference() + tail


if __name__ == "__main__":
    current = README.read_text()
    updated = render(current)
    if "--check" in sys.argv:
        sys.exit(0 if updated == current else 1)
    README.write_text(updated)
    print(f"updated {README}")
