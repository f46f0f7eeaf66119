"""`corebench suite init DIR`: a suite folder of the user's own, where they work."""

from __future__ import annotations

from pathlib import Path

import click

from corebench_runner.capsules.suite import init_suite


@click.group("suite")
def suite_group() -> None:
    """Suites: folders of capsules (and, optionally, graders, scaffolds and report templates of their own)."""


@suite_group.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def init_command(directory: Path) -> None:
    """Make DIRECTORY a suite: capsules/, graders/, scaffolds/, reports/ and a README saying what goes where."""
    made = init_suite(directory)
    root = directory.resolve()
    for path in made:
        click.echo(f"made {path.relative_to(root.parent)}")
    click.echo(f"next: cd {directory} && corebench capsule new NAME ... (or corebench capsule import-corebench "
               "TASKS.json); commands run there use this suite")
