"""`corebench grade`: grade reports against CORE-Bench task JSON, with no run and no store."""

from __future__ import annotations

import click

from corebench_runner.capsules.plugins import load_plugin
from corebench_runner.cli.common import say, say_json, suite_from
from corebench_runner.grading.loop import ReportGrade, grade_report
from corebench_runner.grading.tasks_json import load_answers, load_tasks

UPSTREAM_STOP_HELP = (
    "Reproduce upstream CORE-Bench's habit of silently scoring nothing after the first answer it cannot "
    "compare (e.g. 'N/A' for a number), so that published numbers can be recomputed. Off by default because "
    "it marks correct answers wrong depending only on the order of keys in a report.")


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _as_json(capsule_id: str, grade: ReportGrade) -> dict:
    return {
        "capsule_id": capsule_id,
        "task_correct": grade.task_correct,
        "questions": [{"question": g.question, "status": g.status.value, "reason": g.reason}
                      for g in grade.grades],
    }


def _echo_readable(capsule_id: str, grade: ReportGrade) -> None:
    right = sum(g.status.value == "correct" for g in grade.grades)
    verdict = "correct" if grade.task_correct else "incorrect"
    extra = f", {grade.disputed} disputed" if grade.disputed else ""
    say(f"{capsule_id}: task {verdict} ({right}/{len(grade.grades)} questions correct{extra})")
    for g in grade.grades:
        say(f"  {g.status.value:<9}  {_short(g.question, 90)}")  # an answers file is agent text
        say(f"  {'':<9}  {_short(g.reason, 200)}")


@click.command("grade")
@click.option("--tasks", "tasks_path", required=True, type=click.Path(dir_okay=False),
              help="CORE-Bench task JSON (a list of tasks with capsule_id and results, the reference runs) or a "
                   "v1.1 Croissant file; .gpg files are decrypted in memory.")
@click.option("--answers", "answers_path", required=True, type=click.Path(dir_okay=False),
              help='Answers to grade: a JSON list of {"capsule_id": ID, "report": {question: value}}; '
                   "each entry is graded on its own.")
@click.option("--grader", "grader_name", default="corebench", show_default=True,
              help="Grader plugin: corebench (the official rule), tolerant (official plus disputes), "
                   "corebench-v1.1 / tolerant-v1.1 (the v1.1 rule), or any other `corebench plugins` lists.")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list, one element per answer entry in input order, instead of a table.")
@click.option("--upstream-stop", is_flag=True, help=UPSTREAM_STOP_HELP)
@click.pass_context
def grade_command(ctx: click.Context, tasks_path: str, answers_path: str, grader_name: str,
                  as_json: bool, upstream_stop: bool) -> None:
    """Grade answers against reference runs, question by question, with no container and no store.

    Every question of the task gets a verdict (a question the report leaves out is incorrect,
    "not reported"); a task is correct only when all its questions are.
    """
    grader = load_plugin("graders", grader_name, suite_from(ctx).root)
    tasks = load_tasks(tasks_path)
    entries = load_answers(answers_path, tasks)
    for task in tasks.values():
        for text in task.skipped:
            click.echo(f"warning: {task.capsule_id}: question {_short(text, 60)!r} has a reference value that "
                       "is not a number, list or text; upstream does not grade it, so neither do we", err=True)
    graded = [(e.capsule_id, grade_report(grader, tasks[e.capsule_id].questions, e.report,
                                          upstream_stop=upstream_stop)) for e in entries]
    if as_json:
        say_json([_as_json(cid, g) for cid, g in graded])
        return
    for capsule_id, grade in graded:
        _echo_readable(capsule_id, grade)
    correct = sum(g.task_correct for _, g in graded)
    share = f" ({100 * correct / len(graded):.1f}%)" if graded else ""
    disputed = sum(1 for _, g in graded if g.disputed)
    tail = f"; {disputed} with disputed answers to review" if disputed else ""
    click.echo(f"{correct} of {len(graded)} answer entries correct{share} by grader {grader_name!r}{tail}")
