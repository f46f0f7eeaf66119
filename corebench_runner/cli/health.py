"""`corebench capsule check ID`: is a capsule reproducible, stable, and how much does it need?

Attached to the `capsule` group; this module adds no top-level command of its own.
"""

from __future__ import annotations

import json

import click

from corebench_runner.capsules.format import LEVELS, Capsule
from corebench_runner.cli.capsule import capsule_group
from corebench_runner.cli.common import PluginName, say, suite_from
from corebench_runner.running.capsule_check import (
    HealthReport,
    OracleRun,
    check_capsule,
    recorded_lines,
    resources_toml,
)


def _run_line(number: int, run: OracleRun) -> str:
    memory = "?" if run.peak_memory_bytes is None else f"{run.peak_memory_bytes / 2**20:.0f} MiB"
    gpu = "" if run.gpu_memory_mib is None else f", GPU memory {run.gpu_memory_mib} MiB"
    state = "ok" if run.outcome is None else f"{run.outcome}: {(run.error or '').splitlines()[0][:120]}"
    return f"  run {number}: {state}; {run.seconds:.1f}s, peak memory {memory}{gpu}"


def _report_lines(report: HealthReport) -> list[str]:
    lines = ["questions:"]
    for q in report.questions:
        lines.append(f"  [{q.status}] {q.question[:100]}")
        lines.append(f"      {q.note[:300]}")
    flaky = report.flaky
    verdict = ("healthy: every question reproduced its reference on every run" if report.healthy
               else f"FLAKY: {len(flaky)} question(s) vary between runs" if flaky
               else "UNHEALTHY: see the questions above")
    lines += [verdict, "", "suggested resources for capsule.toml (with headroom over the runs above):",
              resources_toml(report.suggested)]
    if report.suggested.get("gpu") == "required":
        lines.append('gpu = "required"  # the runs used GPU memory')
    return lines


@click.command("check")
@click.argument("capsule_id")
@click.option("--runs", type=int, default=3, show_default=True,
              help="How many times to run the capsule's own reproduction (at least 2).")
@click.option("--level", type=click.Choice(LEVELS),
              help="Workspace level to run at. Default: medium when the capsule supports it.")
@click.option("--sandbox", type=PluginName("sandboxes"), default="docker", show_default=True,
              help="Where the reproduction runs; 'local' has no isolation and measures no memory.")
@click.option("--json", "as_json", is_flag=True, help="Print the health report as JSON.")
@click.option("--record", is_flag=True, help="Write the runs' answers into capsule.toml as each question's "
              "reference `runs` (replacing any), when every run answered every question.")
@click.pass_context
def check_command(ctx: click.Context, capsule_id: str, runs: int, level: str | None, sandbox: str,
                  as_json: bool, record: bool) -> None:
    """Run a capsule's reproduction several times: flaky questions, run time, peak memory, suggested resources.

    Exits 1 when a question is flaky, mismatched or unanswered, so CI can gate on it.
    """
    suite = suite_from(ctx)

    def started(capsule: Capsule, level: str) -> None:
        if not as_json:
            click.echo(f"capsule {capsule.id}: running its reproduction {runs} times at level {level}", err=True)

    def progress(number: int, run: OracleRun) -> None:
        if not as_json:
            click.echo(_run_line(number, run))

    report = check_capsule(suite, capsule_id, runs=runs, level=level, sandbox_kind=sandbox,
                          on_start=started, on_run=progress, record=record,
                          progress=None if as_json else lambda text: click.echo(text, err=True))
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False, default=str))
    else:
        for line in _report_lines(report) + (recorded_lines(report) if record else []):
            click.echo(line)
    if not report.healthy or (record and not report.recorded):
        ctx.exit(1)


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


capsule_group.add_command(check_command)
commands: list = [explain_command]  # `check` lives in the capsule group
