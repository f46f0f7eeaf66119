"""`corebench show`: one run in the terminal, task by task (or one task, or its transcript), or as JSON."""

from __future__ import annotations

import json
import textwrap

import click

from corebench_runner.cli.common import say, say_json, store_option
from corebench_runner.cli.run import public_run, summary_with_suite_and_repeats
from corebench_runner.diagnostics.stored import run_diagnoses, show_json
from corebench_runner.diagnostics.summary import funnel_lines, task_diagnosis_lines
from corebench_runner.errors import UserError
from corebench_runner.store.database import open_store
from corebench_runner.store.results import QuestionResult, TaskDetail, run_summary, task_details
from corebench_runner.terminal import printable


def source_line(q: QuestionResult) -> str:
    """Where an answer came from (with the command that shows it) and whether the re-run reproduced it."""
    evidence = q.source_evidence or {}
    shown = f"source {q.source or 'unknown'}" + (f" ({evidence['command'][:70]})" if evidence.get("command") else "")
    return shown + (f"; reproduced {q.reproduced}" if q.reproduced else "")


@click.command("show")
@click.argument("run_id")
@store_option
@click.option("--json", "as_json", is_flag=True,
              help='Print {"run": {...}, "tasks": [...]} as JSON (documented contract).')
@click.option("--task", "task_ref", metavar="ID",
              help="Only this task: its capsule id (CAPSULE#REPEAT when the capsule ran several times) or task id.")
@click.option("--transcript", is_flag=True, help="With --task: print the task's transcript, event by event.")
@click.option("--full", is_flag=True, help="With --transcript: long outputs in full, not folded.")
def show_command(run_id, store_path, as_json, task_ref, transcript, full) -> None:
    """Show one run: each task's outcome, verdicts with whole reasons, cost, time and transcript path.

    With --task ID only that task; with --task ID --transcript its transcript, in the terminal."""
    if (transcript or full) and not task_ref:
        raise UserError(f"{'--transcript' if transcript else '--full'} shows one task's transcript: add --task ID "
                        "(a capsule id of the run)")
    if full and not transcript:
        raise UserError("--full unfolds a transcript: add --transcript")
    with open_store(store_path, create=False) as store:
        if as_json:
            data = show_json(store, run_id)
            say_json({**data, "run": public_run(data["run"])})
            return
        tasks = task_details(store, run_id)
        full_id = run_summary(store, run_id).id
        if task_ref:
            task = pick_task(tasks, task_ref, full_id)
            if transcript:
                _echo_transcript(store, task, fold=not full)
                return
            tasks = [task]
        else:
            for line in summary_with_suite_and_repeats(run_summary(store, full_id)):
                say(line)
            from corebench_runner.store.calibration import calibration_lines, run_calibration

            for line in calibration_lines(run_calibration(store, full_id)):  # confidence against correctness
                say(line)
            from corebench_runner.report.efficiency import efficiency_lines, run_efficiency

            for line in efficiency_lines(run_efficiency(store, full_id)):  # time, turns, tokens and dollars by phase
                say(line)
            from corebench_runner.store.harness_spending import harness_spending, spending_lines

            for line in spending_lines(harness_spending(store, full_id)):  # triage's and explain's calls
                say(line)
        diagnoses = run_diagnoses(store, run_id)  # funnel, reasons, flags
        if not task_ref:
            for line in funnel_lines(list(diagnoses.values())):
                say(line)
        for task in tasks:
            _echo_task(store, task, diagnoses, full_id)


def _echo_task(store, task: TaskDetail, diagnoses: dict, run_id: str) -> None:
    cost = "?" if task.cost_usd is None else f"${task.cost_usd:.2f}"
    seconds = "-" if task.seconds is None else f"{task.seconds:.0f}s"
    aside = "   (set aside)" if task.set_aside else ""
    say(f"\n{task.capsule_id} #{task.repeat}: {task.outcome or task.status}{aside}   {cost}   {seconds}"
               + (f"   ({task.error.splitlines()[0][:160]})" if task.error else ""))
    for line in task_diagnosis_lines(diagnoses.get(task.task_id)):
        say(line)
    for q in task.questions:
        reported = json.dumps(q.reported, ensure_ascii=False) if q.reported_present else "(not reported)"
        settled = f" -> {q.verified_status}" if q.verified_status != q.status else ""
        aside = " set aside" if q.set_aside and not task.set_aside else ""
        say(f"  [{q.status}{settled}{aside}] {printable(q.question)}")
        say(f"      reported {printable(reported[:200])}")
        # The grader's whole reason, wrapped: a cut reason hides the part that explains the verdict.
        for line in textwrap.wrap(printable(q.reason or "no reason given"), width=100):
            say(f"      {line}")
        if q.source or q.reproduced:
            say(f"      {printable(source_line(q))}")
    if task.transcript_path:
        say(f"  transcript {store.artifacts_dir / task.transcript_path}  "
                   f"(`corebench show {run_id} --task {task.capsule_id}#{task.repeat} --transcript` prints it)")


def pick_task(tasks: list[TaskDetail], ref: str, run_id: str) -> TaskDetail:
    """The task `--task` names: CAPSULE, CAPSULE#REPEAT or a task id; one line naming the choices otherwise."""
    capsule, _, repeat = ref.partition("#")
    found = [t for t in tasks if t.capsule_id == capsule and (not repeat or str(t.repeat) == repeat)]
    if not found and ref.isdigit():
        found = [t for t in tasks if t.task_id == int(ref)]
    if len(found) == 1:
        return found[0]
    if found:
        choices = ", ".join(f"{t.capsule_id}#{t.repeat}" for t in found)
        raise UserError(f"--task {ref}: capsule {capsule} ran {len(found)} times in run {run_id}; "
                        f"name one: {choices}")
    known = sorted({t.capsule_id for t in tasks})
    shown = ", ".join(known[:20]) + (f" (and {len(known) - 20} more)" if len(known) > 20 else "")
    raise UserError(f"--task {ref}: no such task in run {run_id}; its capsules: {shown}")


def _echo_transcript(store, task: TaskDetail, fold: bool) -> None:
    from corebench_runner.report.transcript_text import transcript_lines
    from corebench_runner.report.transcripts import load_events

    events, problem = load_events(store.artifacts_dir, task.transcript_path)
    if problem:
        raise UserError(f"--transcript: {task.capsule_id}#{task.repeat}: {problem}")
    say(f"{task.capsule_id} #{task.repeat}: {task.outcome or task.status}; transcript "
               f"{store.artifacts_dir / task.transcript_path} ({len(events)} events)")
    for line in transcript_lines(events, fold=fold):
        say(line)


