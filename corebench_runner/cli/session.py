"""`corebench session` (a person on a task, alone or driving an agent) and `corebench study` (plan and results)."""

from __future__ import annotations

import click

from corebench_runner.capsules.format import LEVELS
from corebench_runner.cli.common import PluginName, echo_table, store_option, suite_from
from corebench_runner.errors import UserError
from corebench_runner.store.database import open_store


@click.command("session")
@click.argument("capsule_id", metavar="CAPSULE")
@click.option("--person", required=True, help="Who takes the session (recorded with the run).")
@click.option("--level", type=click.Choice(LEVELS), default="hard", show_default=True,
              help="Difficulty: what the workspace keeps, as for `corebench run`.")
@click.option("--with-agent", "agent", type=click.Choice(["claude-code", "codex", "opencode"]),
              help="Put this agent CLI in the container, behind the metering relay, for the person to drive.")
@click.option("--model", help="The agent's model (with --with-agent), e.g. anthropic:claude-opus-5-5 or scripted:FILE.")
@click.option("--time-limit", type=float, metavar="SECONDS",
              help="Length of the session. Default: the capsule's resources.time_limit.")
@click.option("--max-cost", type=float, metavar="USD", help="Dollars the agent may spend in the session.")
@click.option("--study", metavar="NAME", help="The study this session belongs to (as in its plan).")
@click.option("--sandbox", type=PluginName("sandboxes"), default="docker", show_default=True,
              help="The container engine of the session's container (podman: no daemon needed; docs/sandbox.md).")
@store_option
@click.pass_context
def session_command(ctx: click.Context, capsule_id, person, level, agent, model, time_limit, max_cost, study,
                    sandbox, store_path) -> None:
    """Take a task yourself: a shell in the task's container, its prompt, a clock and `submit`.

    The session is recorded, graded and reviewed like any run (scaffold `human`, or `human+AGENT`)."""
    from corebench_runner.running.progress import summary_lines
    from corebench_runner.running.session import start_session

    if time_limit is not None and time_limit <= 0:
        raise UserError(f"--time-limit must be positive, not {time_limit:g}")
    suite = suite_from(ctx)
    from corebench_runner.cli.run import interrupts_end_the_run

    # A closed terminal (SIGHUP) or SIGTERM ends the session as Ctrl-C does: its container is removed.
    with open_store(store_path) as store, interrupts_end_the_run(None):
        run_id, summary = start_session(store, suite, capsule_id, level, person, agent, model, time_limit, max_cost,
                                        study, sandbox)
        click.echo(f"session {run_id} ({person}) recorded in {store.path}")
        click.echo("\n".join(summary_lines(summary)))


@click.group("study")
def study_group() -> None:
    """Randomised studies of people with and without an agent: plan them, then read their results."""


@study_group.command("plan")
@click.option("--people", required=True, metavar="NAMES", help="Participants, comma-separated.")
@click.option("--capsules", "capsules", required=True, metavar="IDS", help="Capsules, comma-separated.")
@click.option("--conditions", default="human,human+claude-code", show_default=True, metavar="CONDITIONS",
              help="Conditions, comma-separated: human, or human+AGENT.")
@click.option("--seed", type=int, required=True, help="Random seed: the same seed gives the same plan.")
@click.option("--level", type=click.Choice(LEVELS), default="hard", show_default=True,
              help="Difficulty of every planned session.")
@click.option("--model", help="The agent's model in agent conditions, e.g. anthropic:claude-opus-5-5.")
@click.option("--name", "study", default="study", show_default=True, help="The study's name, given to each session.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the plan as CSV here too.")
@click.pass_context
def study_plan_command(ctx: click.Context, people, capsules, conditions, seed, level, model, study, out) -> None:
    """Assign capsules to people and conditions at random from a seed; prints each session's command."""
    from corebench_runner.running.study import plan_study, write_plan_csv

    suite = suite_from(ctx)
    plan = plan_study(_split(people, "--people"), _split(capsules, "--capsules"), _split(conditions, "--conditions"),
                      seed, level, study, suite, model)
    echo_table(["#", "person", "capsule", "condition", "command"],
               [[s.order, s.person, s.capsule_id, s.condition, s.command] for s in plan])
    if out:
        write_plan_csv(plan, out)
        click.echo(f"plan written to {out}", err=True)


@study_group.command("results")
@click.option("--study", "study", metavar="NAME", help="Only this study's sessions (default: every session).")
@click.option("--bootstrap", type=int, default=2000, show_default=True, help="Resamples for the speed-up interval.")
@store_option
def study_results_command(study, bootstrap, store_path) -> None:
    """Time to a correct answer per condition, the speed-up with its interval, and sessions that hit the limit."""
    from corebench_runner.store.sessions import study_lines, study_measures

    with open_store(store_path, create=False) as store:
        click.echo("\n".join(study_lines(study_measures(store, study=study, resamples=bootstrap))))


def _split(value: str, flag: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise UserError(f"{flag}: give at least one, comma-separated")
    return items
