"""`corebench capsule ...`: list, show, validate, new, reproduce, add-question, check, import-corebench."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
import platformdirs
from tqdm import tqdm

from corebench_runner.capsules.answer_leaks import answer_leaks
from corebench_runner.capsules.corebench_import import DEFAULT_PASSPHRASE, TaskSource, import_task, read_task_source
from corebench_runner.capsules.format import CAPSULE_FILE, LEVELS, Capsule, parse_capsule
from corebench_runner.capsules.lint import authoring_warnings
from corebench_runner.capsules.new import new_capsule
from corebench_runner.capsules.tarballs import (
    UPSTREAM_CAPSULE_URL,
    download_file,
    download_tarball,
    sha256_of,
    tarball_name,
)
from corebench_runner.cli.common import PluginName, echo_table, suite_from
from corebench_runner.errors import UserError

if TYPE_CHECKING:
    from corebench_runner.running.capsule_check import HealthReport, OracleRun


@click.group("capsule")
def capsule_group() -> None:
    """Capsules: a paper's code and data plus questions with reference answers."""


def _capsule_folder(ctx: click.Context, ref: str) -> Path:
    """A capsule given by id (in the suite) or by a path to its folder."""
    path = Path(ref)
    if (path / CAPSULE_FILE).is_file() or ("/" in ref and path.is_dir()):
        return path
    suite = suite_from(ctx)
    folder = suite.capsule_dir(ref)
    if not folder.is_dir():
        raise UserError(f"no capsule {ref!r} in {suite.capsules_dir} (known: {suite.known_ids()}); "
                        "check the id with `corebench capsule list` or give a folder path")
    return folder


@capsule_group.command("list")
@click.pass_context
def list_capsules(ctx: click.Context) -> None:
    """List the suite's capsules: id, benchmark, language, gpu, questions and the levels each supports."""
    suite = suite_from(ctx)
    rows = []
    for capsule_id in suite.capsule_ids():
        capsule, problems = parse_capsule(suite.capsule_dir(capsule_id))
        if capsule is None:
            rows.append([capsule_id, "?", "?", "?", "?", "INVALID (run `corebench capsule validate`)"])
            continue
        levels = ", ".join(capsule.supported_levels()) or ("contents missing" if capsule.contents != "present" else "none")
        rows.append([capsule.id, capsule.benchmark.label, capsule.language, capsule.gpu, len(capsule.questions), levels])
    if not rows:
        click.echo(f"no capsules in {suite.capsules_dir}; add one with `corebench capsule new NAME --from-git URL --rev COMMIT`")
        return
    echo_table(["id", "benchmark", "language", "gpu", "questions", "levels ok"], rows)
    click.echo(f"\n{len(rows)} capsule(s) in {suite.capsules_dir}")


@capsule_group.command("show")
@click.argument("capsule_ref", metavar="ID")
@click.pass_context
def show_capsule(ctx: click.Context, capsule_ref: str) -> None:
    """Show one capsule's metadata, resources and questions with their reference runs."""
    from corebench_runner.capsules.format import load_capsule

    capsule = load_capsule(_capsule_folder(ctx, capsule_ref))
    click.echo(f"{capsule.id}: {capsule.title}")
    click.echo(f"  folder      {capsule.path}")
    click.echo(f"  benchmark   {capsule.benchmark.label}")
    click.echo(f"  field       {capsule.field}   language {capsule.language}   gpu {capsule.gpu}")
    if capsule.paper.doi or capsule.paper.url:
        click.echo(f"  paper       {capsule.paper.doi or capsule.paper.url}")
    if capsule.paper.citation:
        click.echo(f"  citation    {capsule.paper.citation}")
    r = capsule.resources
    click.echo(f"  resources   {r.cpus:g} cpus, {r.memory} memory, {r.time_limit} s")
    click.echo(f"  levels      {', '.join(capsule.supported_levels()) or 'none'}")
    click.echo(f"  reproduce   {capsule.reproduce or '(none: the oracle cannot run this capsule)'}")
    click.echo(f"  grader      {capsule.grader or '(the run default)'}")
    click.echo(f"\n  task prompt: {capsule.task_prompt}\n")
    for n, q in enumerate(capsule.questions, 1):
        kind = "vision" if q.vision else "written"
        click.echo(f"  Q{n} [{kind}] {q.text}")
        click.echo(f"      reference runs: {', '.join(repr(v) for v in q.runs)}")


@capsule_group.command("validate")
@click.argument("capsule_refs", nargs=-1, metavar="[ID ...]")
@click.option("--all", "all_", is_flag=True, help="Validate every capsule of the suite.")
@click.pass_context
def validate(ctx: click.Context, capsule_refs: tuple[str, ...], all_: bool) -> None:
    """Check capsules and name the file, the field and the fix for every problem.

    ID may also be a path to a capsule folder. Exit code 2 when any capsule has an error.
    """
    if all_ and capsule_refs:
        raise UserError("give capsule ids or --all, not both")
    if all_:
        suite = suite_from(ctx)
        folders = [suite.capsule_dir(cid) for cid in suite.capsule_ids()]
        if not folders:
            raise UserError(f"no capsules in {suite.capsules_dir}; nothing to validate")
    elif capsule_refs:
        folders = [_capsule_folder(ctx, ref) for ref in capsule_refs]
    else:
        raise UserError("give one or more capsule ids (or folder paths), or --all")
    failed = 0
    for folder in folders:
        capsule, problems = parse_capsule(folder)
        if capsule is not None:  # answers already standing in files the agent sees (capsules/answer_leaks.py)
            problems += answer_leaks(capsule) + authoring_warnings(capsule)
        for problem in problems:
            click.echo(f"{problem.severity}: {problem.line()}", err=problem.severity == "error")
        if capsule is None:
            failed += 1
        else:
            levels = ", ".join(capsule.supported_levels()) or "none"
            click.echo(f"ok: {capsule.id} ({len(capsule.questions)} questions; levels: {levels})")
    if failed:
        if len(folders) > 1:
            click.echo(f"{failed} of {len(folders)} capsule(s) failed validation", err=True)
        sys.exit(2)


@capsule_group.command("new")
@click.argument("name")
@click.option("--from-git", "from_git", metavar="URL", help="Clone this git repository into code/.")
@click.option("--rev", metavar="COMMIT", help="The commit (hash or tag) to pin; required with --from-git.")
@click.option("--from-dir", "from_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Copy this folder instead (a capsule layout is kept; anything else goes into code/).")
@click.option("--reproduce", metavar="COMMAND", help="The command that runs the code from the capsule's top folder.")
@click.option("--field", "field_name", metavar="FIELD", help="The paper's research field (else left to fill in).")
@click.option("--title", metavar="TEXT", help="The paper's title (default: NAME).")
@click.option("--task-prompt", "task_prompt", metavar="TEXT", help="What the agent is asked to reproduce.")
@click.pass_context
def new(ctx: click.Context, name: str, from_git: str | None, rev: str | None, from_dir: Path | None,
        reproduce: str | None, field_name: str | None, title: str | None, task_prompt: str | None) -> None:
    """Start capsule NAME in the suite's capsules/ from a git repository or a folder.

    The language is detected from the code and the environment's base image chosen to match.
    """
    from corebench_runner.capsules.format import load_capsule

    suite = suite_from(ctx, for_writing=True)
    dest = new_capsule(suite.capsules_dir, name, from_git=from_git, rev=rev, from_dir=from_dir,
                       reproduce=reproduce or "", field=field_name or "", title=title or "", task_prompt=task_prompt or "")
    draft = load_capsule(dest, draft=True)
    click.echo(f"created {dest}")
    click.echo(f"language: {draft.language or '(not detected: fill it in)'}; environment: "
               f"{draft.dockerfile.read_text().split('FROM ', 1)[-1].split()[0]}")
    unfilled = [key for key, value in (("reproduce", draft.reproduce), ("field", draft.field),
                                         ("language", draft.language), ("task_prompt", draft.task_prompt)) if not value]
    todo = f"fill in {', '.join(unfilled)} in {dest / CAPSULE_FILE}, " if unfilled else ""
    click.echo(f"next: {todo}add what the code needs to environment/Dockerfile, then "
               f"`corebench capsule reproduce {name}` to run the code and see its numbers")


@capsule_group.command("reproduce")
@click.argument("capsule_ref", metavar="ID")
@click.option("--keep/--no-keep", default=True, show_default=True,
              help="Copy what the run wrote under results/ into the capsule's results/ (what the easy level shows).")
@click.pass_context
def reproduce_command(ctx: click.Context, capsule_ref: str, keep: bool) -> None:
    """Build the environment and run the `reproduce` command once; list the files and values it produced.

    Works before any question exists. Each value is shown with the options of `capsule add-question`
    that read it. Exits 1 when the command fails.
    """
    from corebench_runner.capsules.format import load_capsule
    from corebench_runner.running.reproduce import reproduce

    capsule = load_capsule(_capsule_folder(ctx, capsule_ref), draft=True)
    result = reproduce(capsule, progress=lambda text: click.echo(text, err=True), keep=keep)
    state = "timed out" if result.timed_out else f"exit code {result.exit_code}"
    click.echo(f"`{result.command}`: {state} after {result.seconds:.1f} s")
    if not result.ok:
        click.echo(f"its output ends with:\n{result.output_tail}")
    if not result.files:
        click.echo("it wrote no file; make the code write its outputs into results/")
    for produced in result.files:
        where = "kept in the capsule" if produced.kept else (
            "in results/, not kept (--no-keep)" if produced.path.startswith("results/")
            else "outside results/: not kept; make the code write into results/")
        click.echo(f"{produced.path}  ({produced.size} bytes; {where})")
        for found in produced.values:
            value = found.value if not isinstance(found.value, str) else repr(found.value)
            click.echo(f"    {value!s:<14} --file {produced.path} {found.rule_text()}")
    if result.files and result.ok:
        click.echo(f"next: `corebench capsule add-question {capsule.id} TEXT --file FILE --key KEY` for each "
                   f"answer, then `corebench capsule check {capsule.id} --runs 3 --record`")
    if not result.ok:
        ctx.exit(1)


@capsule_group.command("add-question")
@click.argument("capsule_ref", metavar="ID")
@click.argument("text")
@click.option("--file", "file", required=True, metavar="PATH", help="The output file the answer is read from "
              "(relative to the capsule's top folder, e.g. results/model.json).")
@click.option("--key", metavar="A.B.0", help="Dotted path into a JSON file.")
@click.option("--regex", metavar="PATTERN", help="Group 1 of the first match in a text file.")
@click.option("--csv-row", "csv_row", metavar="ROW", help="A CSV row: its first cell, or a 0-based number.")
@click.option("--csv-column", "csv_column", metavar="COLUMN", help="A CSV column: its header, or a 0-based number.")
@click.option("--vision/--no-vision", default=None,
              help="Whether the answer is read off a figure (default: upstream's rule, \"fig\" in the text).")
@click.pass_context
def add_question(ctx: click.Context, capsule_ref: str, text: str, file: str, key: str | None, regex: str | None,
                 csv_row: str | None, csv_column: str | None, vision: bool | None) -> None:
    """Add question TEXT to a capsule, with the rule that reads its answer from an output file.

    Its reference runs come next, from `corebench capsule check ID --runs 3 --record`.
    """
    from corebench_runner.capsules.edit import add_question as add

    folder = _capsule_folder(ctx, capsule_ref)
    extract: dict = {"file": file}
    if key is not None:
        extract["key"] = key
    if regex is not None:
        extract["regex"] = regex
    if (csv_row is None) != (csv_column is None):
        raise UserError("--csv-row and --csv-column go together: give both")
    if csv_row is not None:
        extract["csv"] = {"row": _number_or_text(csv_row), "column": _number_or_text(csv_column or "")}
    count = add(folder, text, extract, vision)
    click.echo(f"added question {count} to {folder / CAPSULE_FILE}")


def _number_or_text(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _merge_tasks_json(source: TaskSource, tarballs_dir: Path, quiet: bool) -> list[dict]:
    """Fetch the Croissant file's core_test.json, check its sha256, and add the fields it has beyond the records."""
    name = f"core_test.{source.benchmark['split'] or 'tasks'}.json"
    final = tarballs_dir / name
    expected = (source.tasks_json_sha256 or "").lower()

    def check(path: Path) -> str | None:
        if expected and sha256_of(path) != expected:
            return f"its sha256 {sha256_of(path)} is not the Croissant file's {expected}"
        return None

    if final.is_file() and check(final) is not None:
        final.unlink()  # a stale or damaged copy: fetch it again
    download_file(source.tasks_json_url, final, check)
    if not quiet:
        click.echo(f"core_test.json checked against the Croissant sha256: {final}")
    full = {t["capsule_id"]: t for t in read_task_source(final).tasks}
    merged = []
    for task in source.tasks:
        extra = {k: v for k, v in full.get(task["capsule_id"], {}).items() if k not in task}
        merged.append({**task, **extra})
    return merged


@capsule_group.command("import-corebench")
@click.argument("tasks_file", metavar="TASKS.json[.gpg]", type=click.Path(path_type=Path))
@click.option("--tarballs", "tarballs_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder holding capsule-ID.tar.gz files (downloads go here too).")
@click.option("--download", is_flag=True, help="Download missing tarballs from upstream (retries, resumes, atomic); "
                                               "with a Croissant file also core_test.json, checked by its sha256.")
@click.option("--passphrase", default=DEFAULT_PASSPHRASE, show_default=True,
              help="Passphrase of an encrypted .gpg task file (upstream's public one by default).")
@click.option("--url-template", default=UPSTREAM_CAPSULE_URL, show_default=True,
              help="Where --download fetches a capsule; {capsule_id} is replaced. A Croissant record's "
                   "capsule_url wins.")
@click.option("--overwrite", is_flag=True, help="Replace capsules that already exist.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def import_corebench(ctx: click.Context, tasks_file: Path, tarballs_dir: Path | None, download: bool,
                     passphrase: str, url_template: str, overwrite: bool, quiet: bool) -> None:
    """Import upstream CORE-Bench tasks as capsules, keeping every upstream field.

    TASKS may be upstream's task JSON (v1.0: core_train.json, core_test.json.gpg) or a v1.1
    Croissant file (croissant_mainline.json, croissant_ood.json; .gpg too).
    """
    source = read_task_source(tasks_file, passphrase)
    tasks = source.tasks
    suite = suite_from(ctx, for_writing=True)
    if download and tarballs_dir is None:
        tarballs_dir = Path(platformdirs.user_cache_dir("corebench-runner")) / "tarballs"
    if download and source.tasks_json_url:
        tasks = _merge_tasks_json(source, tarballs_dir, quiet)
    split = source.benchmark["split"]
    present = missing = 0
    gpu_notes = []
    for task in tqdm(tasks, desc="importing", unit="capsule", disable=quiet):
        tarball = None
        if tarballs_dir is not None:
            candidate = tarballs_dir / tarball_name(task["capsule_id"])
            if candidate.is_file():
                tarball = candidate
            elif download:
                url = task.get("capsule_url") if isinstance(task.get("capsule_url"), str) else None
                tarball = download_tarball(task["capsule_id"], tarballs_dir, url_template, url=url)
        result = import_task(task, suite.capsules_dir, tarball, split, overwrite=overwrite,
                             benchmark=source.benchmark)
        present += result.contents == "present"
        missing += result.contents == "missing"
        if result.gpu_reason:
            gpu_notes.append(f"{result.capsule_id}: gpu = \"required\": {result.gpu_reason}")
    label = " ".join(v for v in source.benchmark.values() if v)
    click.echo(f"imported {len(tasks)} capsule(s) of {label} into {suite.capsules_dir}: "
               f"{present} with contents, {missing} without")
    for note in gpu_notes:
        click.echo(note)
    if missing:
        click.echo("capsules without contents are marked `contents = \"missing\"`; get them with --tarballs DIR or --download")


def _run_line(number: int, run: OracleRun) -> str:
    memory = "?" if run.peak_memory_bytes is None else f"{run.peak_memory_bytes / 2**20:.0f} MiB"
    gpu = "" if run.gpu_memory_mib is None else f", GPU memory {run.gpu_memory_mib} MiB"
    state = "ok" if run.outcome is None else f"{run.outcome}: {(run.error or '').splitlines()[0][:120]}"
    return f"  run {number}: {state}; {run.seconds:.1f}s, peak memory {memory}{gpu}"


def _report_lines(report: HealthReport) -> list[str]:
    from corebench_runner.running.capsule_check import resources_toml

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


@capsule_group.command("check")
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
    from corebench_runner.running.capsule_check import check_capsule, recorded_lines  # docker and the grader: only here

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
