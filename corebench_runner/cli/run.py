"""`corebench run`, `corebench runs`, `corebench show`: start or resume a run, list runs, show one."""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import click

from corebench_runner.capsules.format import LEVELS
from corebench_runner.cli.common import PluginName, echo_table, say, say_json, store_option, suite_from
from corebench_runner.errors import UserError
from corebench_runner.models.names import display_name, public_config
from corebench_runner.records import Outcome
from corebench_runner.running.folders import remove_own_task_folders
from corebench_runner.running.progress import summary_lines
from corebench_runner.running.rerun import reset_for_retry
from corebench_runner.running.run import (
    DEFAULT_GRADER,
    NO_MODEL,
    ExecutionOptions,
    RunOptions,
    disk_full,
    ensure_room,
    execute_run,
    hash_drift,
    plan_run,
    select_capsules,
    stored_options,
)
from corebench_runner.store.database import default_store_path, open_store, remove_if_unused
from corebench_runner.store.reliability import Reliability, reliability_lines
from corebench_runner.store.results import (
    RunSummary,
    list_runs,
    percent,
    run_summary,
    runs_json,
)

# With no --scaffold: the real agent when an API key is set, else the oracle (no model needed).
AGENT_SCAFFOLD, AGENT_MODEL, KEY_ENV = "core-agent", "anthropic:claude-opus-5-5", "ANTHROPIC_API_KEY"
# Options that define a run; --resume takes them from the stored run instead.
RUN_DEFINING = ("model", "scaffold", "level", "capsules", "all_capsules", "repeats", "grader", "timeout",
                "max_steps", "max_cost_per_task", "max_cost", "sandbox", "allow_no_gpu", "base_url", "verify")



def _split_ids(values: tuple[str, ...]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _pick_scaffold(scaffold: str | None, model: str | None) -> tuple[str, str]:
    if scaffold is None:
        if os.environ.get(KEY_ENV):
            scaffold, model = AGENT_SCAFFOLD, model or AGENT_MODEL
        else:
            scaffold = "oracle"
            click.echo(f"no --scaffold and no ${KEY_ENV}: running the oracle scaffold (no model)", err=True)
    return scaffold, model or NO_MODEL


@click.command("run")
@click.option("--model", help="Model as provider:name, e.g. anthropic:claude-opus-5-5; 'none' for scaffolds "
                              "that need no model. Default: none, or the Anthropic default when an API key is set.")
@click.option("--scaffold", help="Agent scaffold to test (`corebench plugins` lists them). Default: core-agent when "
                                 "$ANTHROPIC_API_KEY is set, else oracle.")
@click.option("--level", type=click.Choice(LEVELS), default="hard", show_default=True,
              help="Difficulty: what the workspace keeps (easy keeps results/, medium keeps the recipe).")
@click.option("--capsules", "capsules", multiple=True, metavar="IDS",
              help="Capsule ids, comma-separated or repeated. Default: every capsule that supports the level.")
@click.option("--all", "all_capsules", is_flag=True, help="Run every capsule of the suite that supports the level.")
@click.option("--repeats", type=int, default=1, show_default=True, help="Runs per capsule (for variance).")
@click.option("--concurrency", type=int, default=4, show_default=True, help="Tasks running at the same time.")
@click.option("--grader", default=DEFAULT_GRADER, show_default=True,
              help="Grader (`corebench plugins` lists them) for capsules that do not name their own.")
@click.option("--timeout", type=float, help="Wall-clock seconds per task. Default: the capsule's resources.time_limit.")
@click.option("--max-steps", type=int, default=60, show_default=True, help="Agent steps per task.")
@click.option("--max-cost-per-task", type=float, metavar="USD", help="Dollars one task may spend on the model.")
@click.option("--max-cost", type=float, metavar="USD",
              help="Dollars the whole run may spend; tasks not started by then end as budget_exceeded.")
@click.option("--executor", type=PluginName("executors"), default="local", show_default=True,
              help="Where tasks run: a local pool, or a Ray cluster.")
@click.option("--ray-address", metavar="ADDR", help="Join this Ray cluster (e.g. 10.0.0.5:6379) instead of starting one.")
@click.option("--sandbox", type=PluginName("sandboxes"), default="docker", show_default=True,
              help="Where agents act: Docker containers, Podman containers (no daemon needed; docs/sandbox.md), or 'local' (no isolation; for debugging only).")
@click.option("--allow-no-gpu", is_flag=True, help="On a host without a GPU, run capsules whose GPU is optional (gpu = \"optional\") on the CPU; capsules that require one are still skipped.")
@click.option("--infra-retries", type=int, default=2, show_default=True,
              help="Extra attempts after an infrastructure failure (Docker, image build, API down).")
@click.option("--base-url", "base_url", metavar="URL",
              help="Send model requests to this API endpoint (e.g. a proxy) instead of the provider's.")
@click.option("--resume", "resume_id", metavar="RUN_ID", help="Finish the unfinished tasks of this run, "
                                                               "with its own stored options.")
@click.option("--retry", "retry_outcomes", metavar="OUTCOMES",
              help="With --resume: run again the tasks that ended with these outcomes (comma-separated, e.g. "
                   "infra_error,timeout); each task keeps its earlier results in its details.")
@click.option("--verify", is_flag=True, help="After each task, re-run the agent's /workspace/reproduce.sh in a fresh "
              "container (same image, limits and network; no model) and check each answer against what it produced "
              "(docs/running.md).")
@store_option
@click.option("--quiet", is_flag=True, help="No progress bar and no summary: print only the run's id, when it ends.")
@click.pass_context
def run_command(ctx: click.Context, model, scaffold, level, capsules, all_capsules, repeats, concurrency, grader,
                timeout, max_steps, max_cost_per_task, max_cost, executor, ray_address, sandbox, allow_no_gpu,
                infra_retries, base_url, resume_id, retry_outcomes, verify, store_path, quiet) -> None:
    """Run capsules against a model through a scaffold, grade the answers and record everything."""
    if concurrency < 1:
        raise UserError(f"--concurrency must be at least 1, not {concurrency}")
    retry_list = _outcomes(retry_outcomes)
    if retry_list and not resume_id:
        raise UserError("--retry reruns tasks of an earlier run: give it with --resume RUN_ID")
    execution = ExecutionOptions(concurrency=concurrency, executor=executor, ray_address=ray_address, quiet=quiet)
    path = Path(store_path).expanduser() if store_path else default_store_path()
    new_store = not path.exists()
    try:
        with open_store(store_path) as store:
            ensure_room(store, resume_id)
            if resume_id:
                given = [name for name in RUN_DEFINING
                         if ctx.get_parameter_source(name) not in (click.core.ParameterSource.DEFAULT, None)]
                if given:
                    flags = ", ".join("--" + name.replace("_", "-") for name in given)
                    raise UserError(f"--resume repeats the run's stored options; drop {flags}")
                run_id, options, suite = stored_options(store, resume_id)
                if retry_list:
                    again = reset_for_retry(store, run_id, retry_list)
                    if not quiet:
                        click.echo(f"{again} task(s) of run {run_id} ended {', '.join(retry_list)}: "
                                   "running them again", err=True)
                for capsule_id in hash_drift(store, run_id, suite):
                    click.echo(f"warning: capsule {capsule_id} changed since run {run_id} was planned", err=True)
            else:
                if capsules and all_capsules:
                    raise UserError("--capsules and --all: give one of them")
                suite = suite_from(ctx)
                scaffold, model = _pick_scaffold(scaffold, model)
                chosen, notes = select_capsules(suite, _split_ids(capsules), level)
                for note in notes:
                    click.echo(note, err=True)
                options = RunOptions(model=model, scaffold=scaffold, level=level,
                                     capsule_ids=tuple(c.id for c in chosen), repeats=repeats, grader=grader, timeout=timeout, max_steps=max_steps,
                                     max_cost_per_task=max_cost_per_task, max_cost=max_cost, sandbox=sandbox,
                                     allow_no_gpu=allow_no_gpu, infra_retries=infra_retries, model_base_url=base_url,
                                     verify=verify)
                run_id = plan_run(store, suite, options, chosen, execution)
            if not quiet:
                click.echo(f"run {run_id}: {options.scaffold} / {display_name(options.model)} / level {options.level}; "
                           f"store {store.path}", err=True)
            # A killed run can leave containers behind (they carry its label): a resume removes them first.
            with interrupts_end_the_run(run_id):
                summary = execute_run(store, run_id, options, suite, execution, resumed=resume_id is not None)
            if not quiet:
                click.echo("\n".join(summary_with_suite_and_repeats(summary)))
            else:
                click.echo(run_id)  # the one line a script needs: RUN=$(corebench run --quiet ...)
    except UserError:
        if new_store:
            remove_if_unused(path)  # a run refused before it starts leaves no empty store behind
        raise


def summary_with_suite_and_repeats(summary: RunSummary) -> list[str]:
    """The run's summary screen, with its suite (benchmark, version, split) and reliability over repeats."""
    lines = summary_lines(summary)
    lines.insert(1, f"  suite {summary.suite}")
    after_outcomes = next((n + 1 for n, line in enumerate(lines) if line.startswith("  outcomes:")), len(lines))
    lines[after_outcomes:after_outcomes] = reliability_lines(Reliability.from_json(summary.reliability))
    return lines


def _outcomes(text: str | None) -> list[str]:
    names = [part.strip() for part in (text or "").split(",") if part.strip()]
    known = {o.value for o in Outcome}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UserError(f"--retry: unknown outcome {unknown[0]!r}; use some of {', '.join(sorted(known))}")
    return names


@contextmanager
def interrupts_end_the_run(run_id: str | None) -> Iterator[None]:
    """SIGTERM, and SIGHUP (the terminal closed) unless it is ignored (nohup), count as Ctrl-C. Either way
    execute_run has marked the run interrupted and removed its containers by the time it reaches here;
    then the process ends at once rather than wait for worker threads (one may be in an image build)
    that would otherwise go on starting things. run_id None: a person's session (nothing to resume)."""
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.getsignal(sig) for sig in INTERRUPTING_SIGNALS}
    if on_main_thread:
        for sig, handler in previous.items():
            if handler is not signal.SIG_IGN:
                signal.signal(sig, _raise_interrupt)
    try:
        yield
    except (OSError, sqlite3.OperationalError) as exc:
        if not disk_full(exc) or run_id is None:
            raise
        where = getattr(exc, "filename", None) or "the disk holding the store"
        raise UserError(f"{where}: no space left on the device; what finished is kept. Free space, then "
                        f"`corebench run --resume {run_id}`") from None
    except KeyboardInterrupt:
        said = (f"interrupted; what finished is kept (resume with `corebench run --resume {run_id}`)" if run_id
                else "interrupted; the session's container was removed and nothing was handed in")
        try:
            click.echo(said, err=True)
            sys.stdout.flush()
            sys.stderr.flush()
        except OSError:
            pass  # the terminal is gone (SIGHUP): the cleanup is what matters
        remove_own_task_folders()
        os._exit(130)
    finally:
        if on_main_thread:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


# Signals that end a run as Ctrl-C does (its containers removed, the run resumable).
INTERRUPTING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _raise_interrupt(signum: int, frame: Any) -> None:
    for sig in INTERRUPTING_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)  # a second signal must not cut the cleanup short
    raise KeyboardInterrupt


@click.command("runs")
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of runs, newest first (documented contract).")
@click.option("--limit", type=click.IntRange(min=1), help="Show only the newest N runs.")
@click.option("--wide", is_flag=True, help="Every column: suite, tasks done, reproduced accuracy, review coverage, "
                                           "set-aside and infra-error counts.")
def runs_command(store_path, as_json, limit, wide) -> None:
    """List runs, newest first, with automatic and verified accuracy and open disputes."""
    with open_store(store_path, create=False) as store:
        if as_json:
            data = [public_run(run) for run in runs_json(store)]
            say_json(data[:limit] if limit else data)
            return
        summaries = list_runs(store, limit)
        if not summaries:
            say(f"no runs in {store.path} yet; start one with `corebench run`")
            return
        if not wide:
            _narrow_runs_table(summaries)
        else:
            _wide_runs_table(summaries)
        # Each set-aside item once, with its reason: several runs of a suite share it.
        items = {item["id"]: item for s in summaries for item in s.set_asides}
        for item in items.values():
            what = "whole task" if item["whole_task"] else f"question {item['question'][:60]!r}"
            say(f"set aside in {item['suite']}: {item['capsule_id']} {what} by {item['reviewer']}, "
                       f"{item['created']}: {item['reason']}")


def _narrow_runs_table(summaries: list[RunSummary]) -> None:
    """The columns a reader compares runs by, fitting a terminal; `--wide` has the rest."""
    # New run ids start with their creation time (20261207-062233-...): a created column would repeat them.
    show_created = any(not s.id.startswith(s.created[:10].replace("-", "")) for s in summaries)
    suites = sorted({s.suite for s in summaries})
    show_suite = len(suites) > 1  # runs of several suites are never read as one column of numbers
    headers = ["run"] + (["created"] if show_created else []) + (["suite"] if show_suite else []) + [
        "model", "scaffold", "level", "status", "accuracy", "verified", "disputes", "cost"]
    rows = [[s.id] + ([s.created[:16].replace("T", " ")] if show_created else []) + ([s.suite] if show_suite else []) + [
        display_name(s.model), s.scaffold, s.level,
        s.status if s.tasks_done == s.tasks_total else f"{s.status} {s.tasks_done}/{s.tasks_total}",
        percent(s.accuracy), f"{percent(s.verified_accuracy)} {s.verified_correct}/{s.valid_tasks}"
        + ("*" if s.verified_provisional else ""), s.open_disputes,
        "?" if s.cost_usd is None else f"${s.cost_usd:.2f}"] for s in summaries]
    echo_table(headers, rows)
    if any(s.verified_provisional for s in summaries):
        click.echo("* provisional: some not-correct answers are not yet reviewed (`corebench runs --wide` shows "
                   "coverage)")
    if not show_suite:
        click.echo(f"suite: {suites[0]}")


def _wide_runs_table(summaries: list[RunSummary]) -> None:
    """Every column, as before: one run per line, however wide."""
    rows = [[s.id, s.created, s.status, s.suite, display_name(s.model), s.scaffold, s.level,
             f"{s.tasks_done}/{s.tasks_total}",
             percent(s.accuracy), _verified_cell(s), percent(s.reproduced_accuracy), _coverage_cell(s),
             s.set_aside_tasks, s.infra_errors, s.open_disputes,
             "?" if s.cost_usd is None else f"${s.cost_usd:.2f}"] for s in summaries]
    echo_table(["run", "created", "status", "suite", "model", "scaffold", "level", "done", "accuracy", "verified",
                "reproduced", "reviewed", "set aside", "infra", "disputes", "cost"], rows)


def public_run(run: dict[str, Any]) -> dict[str, Any]:
    """A run's JSON with its model by display name, in its own field and its recorded options alike."""
    return {**run, "model": display_name(run["model"]), "config": public_config(run.get("config") or {})}


def _verified_cell(summary: RunSummary) -> str:
    """Verified accuracy over valid tasks, marked provisional while review coverage is incomplete."""
    text = f"{percent(summary.verified_accuracy)} ({summary.verified_correct}/{summary.valid_tasks})"
    return text + (" provisional" if summary.verified_provisional else "")


def _coverage_cell(summary: RunSummary) -> str:
    return f"{summary.review_done}/{summary.review_needed}" if summary.review_needed else "-"


@click.command("verify")
@click.argument("run_id")
@store_option
@click.option("--quiet", is_flag=True, help="Only the summary.")
def verify_command(run_id, store_path, quiet) -> None:
    """Re-run each task's kept reproduce.sh in a fresh container and check its answers (as run --verify)."""
    from corebench_runner.running.verify import verify_run

    with open_store(store_path, create=False) as store:
        done = verify_run(store, run_id, note=None if quiet else lambda line: click.echo(line, err=True))
        if not done:
            raise UserError(f"run {run_id}: no finished task left a report to check")
        if not quiet:
            for task in done:
                counts = ", ".join(f"{v} {list(task.reproduced.values()).count(v)}"
                                   for v in dict.fromkeys(task.reproduced.values()))
                click.echo(f"{task.capsule_id} #{task.repeat}: re-run {task.state} in {task.seconds:.0f}s; {counts}")
        summary = run_summary(store, run_id)
        click.echo(f"run {summary.id}: reproduced accuracy {percent(summary.reproduced_accuracy)} "
                   f"({summary.reproduced_correct}/{summary.scored} tasks), "
                   f"verified {percent(summary.verified_accuracy)}, "
                   f"{summary.open_disputes} open disputes")
