"""`corebench explain RUN`: a model's short summary of why each failed task failed (off by default)."""

from __future__ import annotations

import click

from corebench_runner.cli.common import say


@click.command("explain")
@click.argument("run_id")
@click.option("--model", required=True, help="Model that writes the summaries, e.g. anthropic:claude-haiku-4-5.")
@click.option("--base-url", "base_url", metavar="URL", help="Send model requests to this API endpoint instead.")
@click.option("--redo", is_flag=True, help="Write new summaries for tasks that already have one.")
@click.option("--store", "store_path", type=click.Path(dir_okay=False), envvar="COREBENCH_STORE",
              help="Results database (SQLite). Default: $COREBENCH_STORE, else the user data folder's.")
def explain_command(run_id: str, model: str, base_url: str | None, redo: bool, store_path: str | None) -> None:
    """Ask a model for a short summary of why each failed task of RUN_ID failed (costs tokens; off by default).

    The rule-based reason is always recorded; this adds a few sentences on top, shown by
    `corebench show` and the run page. Its usage is recorded in the store like any model call.
    """
    from corebench_runner.diagnostics.explain import explain_run, require_failed_tasks
    from corebench_runner.models.factory import make_model
    from corebench_runner.store.database import open_store

    with open_store(store_path, create=False) as store:
        require_failed_tasks(store, run_id)
        client = make_model(model, base_url=base_url)
        try:
            explained = explain_run(store, run_id, client, redo=redo)
        finally:
            client.close()
    for item in explained:
        say(f"{item.capsule_id} (task {item.task_id}): {item.summary}")  # a model's words about agent text
    if not explained:
        click.echo("every failed task already has a summary; pass --redo to write new ones")

