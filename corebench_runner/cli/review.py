"""`corebench review` (walk the disputes, record verdicts), its log, export and import, and `corebench regrade`."""

from __future__ import annotations

from pathlib import Path

import click

from corebench_runner.capsules.plugins import load_plugin
from corebench_runner.cli.common import echo_table, suite_from
from corebench_runner.errors import UserError
from corebench_runner.models.names import display_name
from corebench_runner.review import batch as batch_rules, set_aside as set_aside_rules, verdicts as review
from corebench_runner.review.evidence import find_evidence
from corebench_runner.review.exchange import export_verdicts, import_verdicts
from corebench_runner.review.screen import answer_screen, log_lines, printable, summary_line
from corebench_runner.review.triage_view import ORDERS, accept_proposal, triage_queue
from corebench_runner.store.database import Store, open_store
from corebench_runner.store.results import run_summary
from corebench_runner.store.runs import run_capsule_ids, runs_of_capsule
from corebench_runner.store.set_asides import set_aside_history, standing_set_asides
from corebench_runner.store.triage import latest_proposal

CHOICES = {"c": "correct", "correct": "correct", "i": "incorrect", "incorrect": "incorrect",
           "s": "skip", "skip": "skip", "q": "quit", "quit": "quit",
           "a": "accept", "accept": "accept"}  # accept the triage proposal (review/triage_view.py)

store_option = click.option(
    "--store", "store_path", type=click.Path(dir_okay=False),
    help="Results store (SQLite file). Default: $COREBENCH_STORE, else the user data folder.")
reviewer_option = click.option(
    "--reviewer", default=None,
    help="Who signs the verdicts. Default: `git config user.name`, else the OS user name.")


def _open(ctx: click.Context, store_path: str | None) -> Store:
    """This command's --store, else the one given to the `review` group."""
    chosen = store_path or (ctx.parent.params.get("store_path") if ctx.parent else None)
    return open_store(chosen, create=False)


def _choice(text: str) -> str:
    answer = CHOICES.get(text.strip().lower())
    if answer is None:
        raise click.BadParameter("type c (correct), i (incorrect), s (skip) or q (quit)")
    return answer


def _ask_reason(required: bool) -> str:
    label = "Reason (required for a change)" if required else "Reason (optional)"
    while True:
        reason = click.prompt(label, default="", show_default=False).strip()
        if reason or not required:
            return reason
        click.echo("A change of verdict needs a reason; say why, or press Ctrl-D to stop.")


def _identical_lines(batch: batch_rules.Batch) -> list[str]:
    """Under the screen: the identical answers this decision also settles."""
    if not batch.others:
        return []
    lines = [f"\n{len(batch.answers)} identical answers (same question, value and references in this suite); "
             "one decision gives each its own verdict:"]
    lines += [f"  answer {v.answer_id}: run {v.key.run_id}, repeat {v.key.repeat}" for v in batch.answers]
    return lines


def _walk(store: Store, queue: list[batch_rules.Batch], reviewer: str, only_open: bool) -> tuple[int, int]:
    """Show each batch of identical answers, ask for a verdict, record it at once on each. Returns (decided, skipped)."""
    decided = skipped = 0
    for position, batch in enumerate(queue, start=1):
        view = batch.first
        standing = store.latest_status(view.answer_id)
        # A verdict recorded meanwhile refuses this one (per answer).
        seen = {v.answer_id: review.latest_review_id(store, v.answer_id) for v in batch.answers}
        if only_open and standing != view.standing:
            click.echo(f"\nanswer {view.answer_id} was settled ({standing}) meanwhile; skipping it")
            continue
        proposal = latest_proposal(store, view.answer_id)
        screen = answer_screen(view, position, len(queue), review.history(store, view.answer_id),
                               find_evidence(view.transcript, view.reported if view.reported_present else None),
                               proposal)
        click.echo("\n".join(screen + _identical_lines(batch)))
        accept = f"[a]ccept triage ({proposal.status}), " if proposal else ""
        try:
            choice = click.prompt(f"\nVerdict: [c]orrect, [i]ncorrect, {accept}[s]kip, [q]uit", value_proc=_choice)
            while choice == "accept" and proposal is None:
                choice = click.prompt("This answer has no triage proposal; type c, i, s or q", value_proc=_choice)
            if choice == "quit":
                break
            if choice == "skip":
                skipped += len(batch.answers)
                continue
            reason = "" if choice == "accept" else _ask_reason(required=choice != standing)
        except click.Abort:  # Ctrl-C or Ctrl-D: stop, keeping what was decided
            click.echo("")
            break
        try:
            if choice == "accept":  # a person's verdict on the answer shown, recorded as accepting its proposal
                result = batch_rules.BatchResult([accept_proposal(
                    store, view.answer_id, reviewer=reviewer, seen_review_id=seen[view.answer_id],
                    proposal_id=proposal.id)])
            else:
                result = batch_rules.decide(store, seen, choice, reviewer=reviewer, reason=reason)
        except review.SettledMeanwhile as exc:
            click.echo(printable(exc.message))
            continue
        record = result.recorded[0]
        applied = result.applied_phrase()
        click.echo(f"recorded: {record.old_status} -> {record.new_status} by {record.reviewer}"
                   + (f"; {applied}" if applied else ""))
        for answer_id in result.settled_meanwhile:
            click.echo(f"answer {answer_id} was ruled on by someone else meanwhile; it kept that verdict")
        decided += len(result.recorded)
    return decided, skipped


@click.group("review", invoke_without_command=True)
@store_option
@click.option("--run", "run_id", help="Only answers of this run (a unique prefix of the id is enough).")
@click.option("--model", help="Only answers of runs of this model, e.g. anthropic:claude-opus-5-5.")
@click.option("--capsule", "capsule_id", help="Only answers to this capsule's questions.")
@click.option("--answer", "answer_ids", type=int, multiple=True,
              help="Review this answer whatever its status (reopens a graded answer); repeatable.")
@reviewer_option
@click.option("--web", is_flag=True,
              help="Review in the browser instead: a local web app with figures, evidence and transcript per answer.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="With --web: the port to listen on; 0 picks a free one. The address is printed.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="With --web: the address to listen on. Other machines can reach it only if you change it.")
@click.option("--order", type=click.Choice(ORDERS), default="default", show_default=True,
              help="triage: answers a triage proposal calls right in spirit first (incorrect ones too, until a "
                   "person rules), then those proposed wrong, then the rest (`corebench triage`). With --web the "
                   "listed answers are sorted so.")
@click.pass_context
def review_group(ctx: click.Context, store_path: str | None, run_id: str | None, model: str | None,
                 capsule_id: str | None, answer_ids: tuple[int, ...], reviewer: str | None, web: bool,
                 port: int, host: str, order: str) -> None:
    """Settle disputed answers one at a time: c = correct, i = incorrect, s = skip, q = quit.

    Each screen shows the question, the reported value, every reference run, the official
    rule, the grader's reason and the commands whose output produced the answer. Every
    verdict is kept (who, when, old and new status, reason); the latest one stands.
    With --web the same queue, filters and verdicts are served as pages for a browser.
    """
    if ctx.invoked_subcommand is not None:
        return
    if web:
        _serve_web(ctx, store_path, run_id, model, capsule_id, answer_ids, reviewer, host, port, order)
        return
    store = _open(ctx, store_path)
    with store:
        filters = dict(run_id=run_id, model=model, capsule_id=capsule_id)
        if answer_ids:
            queue = review.find_answers(store, answer_ids=list(answer_ids), **filters)
        elif order == "triage":
            queue = triage_queue(store, **filters)
        else:
            queue = review.open_disputes(store, **filters)
        batches = batch_rules.group_identical(store, queue)  # set-aside answers leave the queue
        size = sum(len(batch.answers) for batch in batches)
        if not batches:
            click.echo("No open disputes" + (" matching the filters." if any(filters.values()) else "."))
        else:
            click.echo(f"{size} answer(s) to review in {store.path}")
            click.echo("q or Ctrl-D stops at any point; every verdict is saved as soon as it is given.")
            if len(batches) < size:
                click.echo(f"identical answers are decided together: {len(batches)} decision(s) for them all")
            decided, skipped = _walk(store, batches, reviewer or review.default_reviewer(), not answer_ids)
            left = sum(len(batch.answers) for batch in batch_rules.group_identical(
                store, review.open_disputes(store, **filters)))
            click.echo(f"\n{decided} verdict(s) recorded, {skipped} skipped, {left} open dispute(s) left.")
        runs = {view.key.run_id for view in queue} | ({review.resolve_run_id(store, run_id)} if run_id else set())
        for rid in sorted(runs):
            click.echo(summary_line(run_summary(store, rid)))


def _serve_web(ctx: click.Context, store_path: str | None, run_id: str | None, model: str | None,
               capsule_id: str | None, answer_ids: tuple[int, ...], reviewer: str | None, host: str, port: int,
               order: str = "default") -> None:
    """`review --web`: check the store and filters once here, so a mistake is one line, not a broken page."""
    from corebench_runner.review_web.pages import Filters
    from corebench_runner.review_web.server import loopback, serve

    with _open(ctx, store_path) as store:
        path = store.path
        model = display_name(model) if model else None  # as the page's model menu names it
        filters = Filters(run_id=review.resolve_run_id(store, run_id) if run_id else None, model=model,
                          capsule_id=capsule_id, answer_ids=answer_ids, order=order)
        open_count = len(filters.answers(store)) if answer_ids else len(review.open_disputes(
            store, run_id=filters.run_id, model=model, capsule_id=capsule_id))
    name = reviewer or review.default_reviewer()

    def announce(address: str) -> None:
        if not loopback(host):
            click.echo(f"warning: --host {host}: whoever can reach this address can read the answers and give "
                       f"verdicts signed {name}; prefer the default with ssh -L port forwarding", err=True)
        click.echo(f"{open_count} answer(s) to review in {path}, signed as {name}")
        click.echo(f"Review at {address}  (Ctrl-C stops; every verdict is saved when given)")

    try:
        suite_root = suite_from(ctx).root  # the suite's reports/ templates, as `corebench report` uses
    except UserError:
        suite_root = None
    serve(path, filters, name, host, port, suite_root, announce)
    click.echo("stopped; the verdicts given are in the store (`corebench review log`)")


@review_group.command("list")
@store_option
@click.option("--run", "run_id", help="Only answers of this run (a unique prefix of the id is enough).")
@click.option("--capsule", "capsule_id", help="Only answers to this capsule's questions.")
@click.option("--status", type=click.Choice(review.STATUSES),
              help="Only answers whose standing status is this (default: all).")
@click.pass_context
def list_command(ctx: click.Context, store_path: str | None, run_id: str | None, capsule_id: str | None,
                 status: str | None) -> None:
    """List answers with their ids, automatic and standing status (ids feed --answer and reopen)."""
    with _open(ctx, store_path) as store:
        views = review.find_answers(store, run_id=run_id, capsule_id=capsule_id, standing=status)
        aside = batch_rules.set_aside_answers(store, views)
        echo_table(["answer", "run", "capsule", "rep", "auto", "standing", "question"],
                   [[v.answer_id, v.key.run_id, v.key.capsule_id, v.key.repeat, v.auto_status,
                     v.standing + (" (set aside)" if v.answer_id in aside else ""),
                     printable(v.key.question if len(v.key.question) <= 40 else v.key.question[:37] + "...")]
                    for v in views])


@review_group.command("reopen")
@store_option
@click.argument("answer_id", type=int)
@click.option("--reason", required=True, help="Why the answer needs a second look (required).")
@reviewer_option
@click.pass_context
def reopen_command(ctx: click.Context, store_path: str | None, answer_id: int, reason: str,
                   reviewer: str | None) -> None:
    """Put ANSWER_ID back in the disputes queue, even one the grader called correct or incorrect."""
    with _open(ctx, store_path) as store:
        record = review.reopen(store, answer_id, reviewer=reviewer or review.default_reviewer(), reason=reason)
        click.echo(f"answer {answer_id}: {record.old_status} -> disputed by {record.reviewer}; "
                   "it is in the queue of `corebench review`")


benchmark_option = click.option(
    "--benchmark", default=None,
    help="The suite (benchmark label and version, e.g. 'core-bench 1.1 mainline') the decision applies to; "
         "needed only when the store ran the capsule in several suites.")
question_option = click.option(
    "--question", default=None,
    help="Only this question (its text, or a part only one question contains). Default: the whole task.")


def _runs_touched(store: Store, target: set_aside_rules.Target) -> list[str]:
    """Runs of the target's suite that ran its capsule: the ones whose verified number moves."""
    return [rid for rid in runs_of_capsule(store, target.capsule_id)
            if target.suite in run_summary(store, rid).suite.split(" + ")]


def _decide_set_aside(ctx: click.Context, store_path: str | None, capsule_id: str, question: str | None,
                      benchmark: str | None, reason: str, reviewer: str | None, active: bool) -> None:
    with _open(ctx, store_path) as store:
        target = set_aside_rules.resolve_target(store, capsule_id, question, benchmark)
        decide = set_aside_rules.set_aside if active else set_aside_rules.reinstate
        record = decide(store, target, reviewer=reviewer or review.default_reviewer(), reason=reason)
        verb = "set aside" if active else "reinstated"
        click.echo(printable(f"{verb}: {target.describe()} by {record.reviewer} ({record.created}): {record.reason}"))
        for rid in _runs_touched(store, target):
            click.echo(summary_line(run_summary(store, rid)))


@review_group.command("invalidate")
@store_option
@click.argument("capsule_id")
@question_option
@click.option("--reason", required=True, help="Why the task or question is broken (required; kept in the audit trail).")
@benchmark_option
@reviewer_option
@click.pass_context
def invalidate_command(ctx: click.Context, store_path: str | None, capsule_id: str, question: str | None,
                       reason: str, benchmark: str | None, reviewer: str | None) -> None:
    """Set CAPSULE_ID's task (or one --question) aside in its suite: it leaves verified accuracy.

    Automatic accuracy never changes. A task whose every question is set aside counts as set
    aside; otherwise a task is judged on its remaining questions. Undo with `review reinstate`.
    """
    _decide_set_aside(ctx, store_path, capsule_id, question, benchmark, reason, reviewer, active=True)


@review_group.command("reinstate")
@store_option
@click.argument("capsule_id")
@question_option
@click.option("--reason", required=True, help="Why it counts again (required; kept in the audit trail).")
@benchmark_option
@reviewer_option
@click.pass_context
def reinstate_command(ctx: click.Context, store_path: str | None, capsule_id: str, question: str | None,
                      reason: str, benchmark: str | None, reviewer: str | None) -> None:
    """Undo `review invalidate`: CAPSULE_ID's task (or one --question) counts in verified accuracy again."""
    _decide_set_aside(ctx, store_path, capsule_id, question, benchmark, reason, reviewer, active=False)


@review_group.command("set-asides")
@store_option
@click.option("--history", is_flag=True, help="Every decision, oldest first, reinstatements included.")
@click.pass_context
def set_asides_command(ctx: click.Context, store_path: str | None, history: bool) -> None:
    """List the tasks and questions set aside now (who, when, why), per suite."""
    with _open(ctx, store_path) as store:
        rows = set_aside_history(store) if history else standing_set_asides(store)
        if not rows:
            click.echo("Nothing is set aside." if not history else "No set-aside decisions recorded yet.")
            return
        echo_table(["suite", "capsule", "question", "state", "by", "when", "reason"],
                   [[r.suite, r.capsule_id, printable(r.question[:50]) if r.question else "(whole task)",
                     "set aside" if r.active else "reinstated", r.reviewer, r.created, printable(r.reason)]
                    for r in rows])


@review_group.command("log")
@store_option
@click.option("--run", "run_id", help="Only verdicts on answers of this run.")
@click.option("--capsule", "capsule_id", help="Only verdicts on this capsule's answers.")
@click.option("--answer", "answer_id", type=int, help="Only the history of this answer.")
@click.pass_context
def log_command(ctx: click.Context, store_path: str | None, run_id: str | None, capsule_id: str | None,
                answer_id: int | None) -> None:
    """Print the audit trail: every verdict, oldest first (the latest per answer stands)."""
    with _open(ctx, store_path) as store:
        entries = review.review_log(store, run_id=run_id, capsule_id=capsule_id, answer_id=answer_id)
        if not entries:
            click.echo("No verdicts recorded yet.")
        for entry in entries:
            click.echo("\n".join(log_lines(entry)))


@review_group.command("export")
@store_option
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option("--run", "run_id", help="Only verdicts on answers of this run.")
@click.pass_context
def export_command(ctx: click.Context, store_path: str | None, file: str, run_id: str | None) -> None:
    """Write every verdict and set-aside decision to FILE as JSON lines, to share with `corebench review import`."""
    with _open(ctx, store_path) as store:
        count, decisions = export_verdicts(store, Path(file), run_id=run_id)
    click.echo(f"wrote {count} verdict(s) and {decisions} set-aside decision(s) to {file}")


@review_group.command("import")
@store_option
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
def import_command(ctx: click.Context, store_path: str | None, file: str) -> None:
    """Add the verdicts in FILE (from `review export`), keeping author and time.

    Verdicts already present are skipped. Where both stores ruled on an answer and disagree,
    nothing is merged: the conflict is listed and the exit code is 1.
    """
    with _open(ctx, store_path) as store:
        result = import_verdicts(store, Path(file))
    click.echo(f"imported {result.imported} verdict(s); {result.already_present} already present")
    click.echo(f"imported {result.set_asides_imported} set-aside decision(s); {result.set_asides_present} "
               "already present")
    for key in result.unmatched:
        click.echo(printable(f"not in this store: run {key.run_id}, {key.capsule_id} repeat {key.repeat}: "
                             f"{key.question}"))
    for conflict in result.conflicts:
        click.echo(printable(
            f"conflict on answer {conflict.answer_id} ({conflict.key.capsule_id}: {conflict.key.question}): "
            f"here {conflict.ours.new_status} by {conflict.ours.reviewer}, in {file} "
            f"{conflict.theirs.new_status} by {conflict.theirs.reviewer}; settle it with "
            f"`corebench review --answer {conflict.answer_id}`"))
    if result.conflicts:
        ctx.exit(1)


@click.command("regrade")
@store_option
@click.argument("run_id")
@click.option("--grader", "grader_name", required=True, help="Grader to apply, e.g. corebench or tolerant.")
@reviewer_option
@click.pass_context
def regrade_command(ctx: click.Context, store_path: str | None, run_id: str, grader_name: str,
                    reviewer: str | None) -> None:
    """Grade RUN_ID's stored answers again (after a grader fix); human verdicts are kept and still stand."""
    suite = suite_from(ctx)
    grader = load_plugin("graders", grader_name, suite.root)
    with open_store(store_path, create=False) as store:
        questions = _suite_questions(suite, store, run_id)
        result = review.regrade(store, run_id, grader, grader_name,
                                reviewer=reviewer or review.default_reviewer(), questions=questions)
        click.echo(f"regraded {result.graded} answer(s) with {grader_name}; {len(result.changed)} changed")
        echo_table(["capsule", "question", "before", "after"],  # old and new verdicts side by side
                   [[view.key.capsule_id, printable(" ".join(view.key.question.split())[:60]), before, after]
                    for view, before, after in result.verdicts])
        for change in result.changed:
            click.echo(f"  answer {change.answer.answer_id} ({change.answer.key.capsule_id}): "
                       f"{change.old_auto} -> {change.new_auto}")
        if result.disagreements:
            click.echo("human verdicts that now disagree with the grader (they still stand):")
        for view, new_auto in result.disagreements:
            click.echo(printable(f"  answer {view.answer_id} ({view.key.capsule_id}: {view.key.question}): "
                                 f"reviewed {view.standing}, grader now says {new_auto}"))
        click.echo(summary_line(run_summary(store, run_id)))


def _suite_questions(suite, store: Store, run_id: str) -> dict:
    """The suite's questions for the run's capsules, so per-question tolerances apply; missing capsules are fine."""
    questions = {}
    rid = review.resolve_run_id(store, run_id)
    for capsule_id in run_capsule_ids(store, rid):
        try:
            capsule = suite.load(capsule_id)
        except UserError:
            continue  # graded from the stored references alone
        questions.update({(capsule.id, q.text): q for q in capsule.questions})
    return questions
