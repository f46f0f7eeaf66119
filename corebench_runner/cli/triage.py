"""`corebench triage RUN --model M`: a model proposes a verdict and a category for each failed answer."""

from __future__ import annotations

import textwrap

import click

from corebench_runner.review.screen import printable
from corebench_runner.store.triage import CATEGORY_WORDS, VERDICT_WORDS
from corebench_runner.triage.model_triage import TaskTriage


def _task_lines(outcome: TaskTriage) -> list[str]:
    material = outcome.material
    cost = "unknown cost" if outcome.usage.cost_usd is None else f"${outcome.usage.cost_usd:.4f}"
    lines = [f"{material.capsule_id} repeat {material.repeat} (task {material.task_id}): "
             f"{len(outcome.proposals)} of {len(material.answers)} proposal(s), {cost}"]
    questions = {failed.view.answer_id: failed.view.key.question for failed in material.answers}
    for proposal in outcome.proposals:
        question = textwrap.shorten(questions.get(proposal.answer_id, ""), 60, placeholder="...")
        lines.append(printable(f"  answer {proposal.answer_id} ({question}): {VERDICT_WORDS[proposal.verdict]}, "
                               f"{CATEGORY_WORDS[proposal.category]}: {proposal.reasoning}"))
    lines += [printable(f"  problem: {problem}") for problem in outcome.problems]
    return lines


@click.command("triage")
@click.argument("run_id")
@click.option("--model", required=True,
              help="Model that reads each failed answer, e.g. anthropic:claude-opus-5-5 or scripted:FILE.")
@click.option("--base-url", "base_url", metavar="URL", help="Send model requests to this API endpoint instead.")
@click.option("--scaffold", type=click.Choice(["claude-code", "codex"]),
              help="Let this agent CLI read the task's files (transcript, report, produced files) in a container, "
                   "behind the metering relay, and write its proposals; --model must speak its API.")
@click.option("--max-cost", type=float, metavar="USD",
              help="Dollars the triage may spend; no call starts once they are spent (needs the model's price).")
@click.option("--redo", is_flag=True, help="Propose again for answers that already have a proposal.")
@click.option("--store", "store_path", type=click.Path(dir_okay=False), envvar="COREBENCH_STORE",
              help="Results database (SQLite). Default: $COREBENCH_STORE, else the user data folder's.")
def triage_command(run_id: str, model: str, base_url: str | None, scaffold: str | None, max_cost: float | None,
                   redo: bool, store_path: str | None) -> None:
    """Propose a verdict (right in spirit / wrong) and a category for each incorrect or disputed answer of RUN_ID.

    The model reads the question, the reference runs, the grader's reason, the evidence, the
    transcript and the files the task produced; with --scaffold, an agent CLI reads the task's
    files itself in a container (never capsule.toml) and writes its proposals to a file. A proposal never changes a status: it is shown
    on both review screens, where a person may accept it (`corebench review --order triage`).
    Its tokens and dollars are recorded with each proposal.
    """
    from corebench_runner.models.base import ModelClient
    from corebench_runner.models.factory import make_model
    from corebench_runner.models.pricing import require_price
    from corebench_runner.store.database import open_store
    from corebench_runner.triage.material import TaskMaterial, failed_tasks
    from corebench_runner.triage.model_triage import model_asker, triage_tasks

    if max_cost is not None and max_cost <= 0:
        raise click.BadParameter("give a positive number of dollars", param_hint="--max-cost")
    with open_store(store_path, create=False) as store:
        tasks = failed_tasks(store, run_id, redo=redo)
        if not tasks:
            click.echo("nothing to triage: no incorrect or disputed answer without a proposal"
                       + ("" if redo else " (--redo proposes again)"))
            return
        clients: dict[str, ModelClient] = {}
        per_capsule = model.startswith("scripted:")  # a scripted folder plays one session per capsule

        def client_for(material: TaskMaterial) -> ModelClient:
            key = material.capsule_id if per_capsule else ""
            if key not in clients:
                clients[key] = make_model(model, base_url=base_url, capsule_id=material.capsule_id)
            return clients[key]

        try:
            if max_cost is not None:
                require_price(client_for(tasks[0]).model, "--max-cost")
            click.echo(f"triaging {sum(len(t.answers) for t in tasks)} answer(s) of {len(tasks)} task(s) with {model}")
            if scaffold:
                from corebench_runner.triage.scaffold_triage import require_model_api, scaffold_asker

                require_model_api(scaffold, client_for(tasks[0]))
                click.echo(f"starting {scaffold} in a container per task (its image is built once, first)")
                ask = scaffold_asker(scaffold, client_for)
            else:
                ask = model_asker(client_for)
            result = triage_tasks(store, tasks, ask, model, scaffold or "", max_cost=max_cost,
                                  on_task=lambda outcome: click.echo("\n".join(_task_lines(outcome))))
        finally:
            for client in clients.values():
                client.close()
    spent = "unknown (no price for the model)" if result.spent.cost_usd is None else f"${result.spent.cost_usd:.4f}"
    click.echo(f"{result.proposal_count} proposal(s) stored; spent {spent} in {len(result.done)} call(s). "
               "No status was changed: review them with `corebench review --order triage`.")
    if result.left:
        click.echo(f"stopped: the triage spent {spent} of its --max-cost ${result.cap:.2f}; "
                   f"{result.answers_left} answer(s) of {len(result.left)} task(s) left without a proposal "
                   "(run again with a higher --max-cost to continue)")
