"""`corebench report` (the static site) and `corebench export` (CSV, JSON, HAL upload format, Inspect log, Parquet)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from corebench_runner.cli.common import store_option, suite_from
from corebench_runner.errors import UserError
from corebench_runner.store.database import get_run, open_store


@click.command("report")
@click.option("--out", "out", type=click.Path(file_okay=False), required=True,
              help="Folder to write the site into (created if needed). Pages, charts, CSS and "
                   "results.csv/json land there; publish it as is.")
@store_option
@click.option("--templates", "templates", type=click.Path(file_okay=False),
              help="Folder of your own templates (copies of reports/*.html, static/site.css) that replace "
                   "the bundled ones of the same name.")
@click.pass_context
def report_command(ctx: click.Context, out: str, store_path: str | None, templates: str | None) -> None:
    """Render the results store into a static HTML site: leaderboard, accuracy over time,
    capsule matrix, one page per run and per transcript."""
    from corebench_runner.report.site import build_site  # pandas and matplotlib load only when needed

    started = time.monotonic()
    with open_store(store_path, create=False) as store:
        try:
            pages = build_site(store, Path(out), Path(templates) if templates else None, suite_from(ctx).root)
        except OSError as exc:
            raise UserError(f"--out {out}: cannot write the site ({exc.strerror}: {exc.filename}); "
                            "choose a folder you can write to") from None
    click.echo(f"wrote {len(pages)} pages to {out} in {time.monotonic() - started:.1f}s; "
               f"open {Path(out) / 'index.html'}")


@click.command("export")
@click.argument("run_id", required=False)
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "hal", "hal-verified", "inspect", "parquet"]), default="csv",
              show_default=True,
              help="csv: one row per task; json: runs and tasks; hal: one run in HAL's upload format (automatic "
                   "verdicts); hal-verified: the same with people's verdicts applied and set-aside items left out; "
                   "inspect: one "
                   "run as an Inspect eval log (`inspect view` opens it); parquet: one row per question.")
@click.option("--out", "out", type=click.Path(dir_okay=False),
              help="File to write. Default: standard output (hal: RUN_ID_UPLOAD.json, hal-verified: "
                   "RUN_ID_VERIFIED_UPLOAD.json, inspect: "
                   "DATE_corebench-LEVEL_RUN_ID.eval, parquet: results.parquet, in the current folder).")
@store_option
def export_command(run_id: str | None, fmt: str, out: str | None, store_path: str | None) -> None:
    """Export results for other tools: every run, or only RUN_ID (a unique prefix is enough)."""
    from corebench_runner.report import data as tables, export

    with open_store(store_path, create=False) as store:
        if run_id is not None:
            run_id = get_run(store, run_id)["id"]
        if fmt in ("inspect", "parquet"):
            _export_file(store, run_id, fmt, Path(out) if out else None)
            return
        if fmt in ("hal", "hal-verified"):
            if run_id is None:
                raise UserError(f"export --format {fmt}: name the run to export (RUN_ID); list runs with "
                                "`corebench runs`")
            verified = fmt == "hal-verified"
            text = json.dumps(export.hal_upload(store, run_id, verified=verified), indent=2,
                              ensure_ascii=False) + "\n"
            out = out or f"{run_id}_{'VERIFIED_' if verified else ''}UPLOAD.json"
        else:
            data = tables.load_report_data(store)
            measures = export.run_measures(store, data, run_id)
            if fmt == "csv":
                text = export.task_table(data, run_id, measures).to_csv(index=False)
            else:
                text = json.dumps(export.results_json(data, run_id, measures), indent=2, ensure_ascii=False) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        Path(out).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write ({exc.strerror}); choose a writable file") from None
    click.echo(f"wrote {out}", err=True)


def default_inspect_name(store, run_id: str) -> Path:
    """Inspect's own naming (time_task_id.eval), which `inspect view` lists by task."""
    run = get_run(store, run_id)
    stamp = run["created"][:19].replace(":", "-")
    return Path(f"{stamp}_corebench-{run['level']}_{run_id}.eval")


def _export_file(store, run_id: str | None, fmt: str, out: Path | None) -> None:
    """The binary formats: always a file, never standard output."""
    from corebench_runner.report import data as tables, export

    try:
        if fmt == "inspect":
            if run_id is None:
                raise UserError("export --format inspect: name the run to export (RUN_ID); list runs with "
                                "`corebench runs`")
            from corebench_runner.report.export_inspect import write_inspect_log

            out = write_inspect_log(store, run_id, out or default_inspect_name(store, run_id))
        else:
            out = out or Path("results.parquet")
            export.write_parquet(export.question_table(tables.load_report_data(store), store, run_id), out)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write ({exc.strerror}); choose a writable file") from None
    click.echo(f"wrote {out}", err=True)
