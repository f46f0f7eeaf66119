"""A randomised study plan: which person takes which capsule under which condition, from a seed.

The design is balanced the way the CORE-Bench v1.1 uplift study was: every person works under every
condition, and every capsule is taken under every condition by some person. Capsules and people
are shuffled, person p's c-th capsule gets condition (p + c) mod k (a Latin square over a shuffled
condition order), and each person's sessions come in a shuffled order, so learning effects spread
over the conditions. The same inputs and seed give the same plan, byte for byte.
"""

from __future__ import annotations

import csv
import random
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path

from corebench_runner.capsules.suite import Suite
from corebench_runner.errors import UserError
from corebench_runner.running.run import select_capsules
from corebench_runner.running.session import AGENTS, HUMAN, agent_of


@dataclass(frozen=True)
class PlannedSession:
    order: int  # the person's n-th session
    person: str
    capsule_id: str
    condition: str  # human, or human+AGENT
    level: str
    study: str
    model: str | None  # the agent's model under an agent condition

    @property
    def command(self) -> str:
        parts = ["corebench", "session", self.capsule_id, "--person", self.person, "--level", self.level,
                 "--study", self.study]
        agent = agent_of(self.condition)
        if agent:
            parts += ["--with-agent", agent, "--model", self.model or ""]
        return shlex.join(parts)


def check_condition(condition: str) -> None:
    agent = agent_of(condition)
    if condition != HUMAN and (not condition.startswith(HUMAN + "+") or agent not in AGENTS):
        raise UserError(f"--conditions: unknown condition {condition!r}; use human or human+AGENT "
                        f"(AGENT one of {', '.join(AGENTS)})")


def plan_study(people: list[str], capsule_ids: list[str], conditions: list[str], seed: int, level: str,
               study: str, suite: Suite, model: str | None = None) -> list[PlannedSession]:
    for flag, items in (("--people", people), ("--capsules", capsule_ids), ("--conditions", conditions)):
        if len(set(items)) != len(items):
            raise UserError(f"{flag}: each name once, please (got {', '.join(items)})")
    for condition in conditions:
        check_condition(condition)
    if any(agent_of(c) for c in conditions) and not model:
        raise UserError("--model: an agent condition needs the agent's model, e.g. --model anthropic:claude-opus-5-5")
    select_capsules(suite, capsule_ids, level)  # each exists and supports the level, or one clear line
    rng = random.Random(seed)
    order_of_capsules, order_of_people, order_of_conditions = list(capsule_ids), list(people), list(conditions)
    rng.shuffle(order_of_capsules)
    rng.shuffle(order_of_people)
    rng.shuffle(order_of_conditions)
    plan: list[PlannedSession] = []
    for person in people:  # listed in the order given; their assignment comes from the shuffled orders
        p = order_of_people.index(person)
        assigned = [(capsule, order_of_conditions[(p + c) % len(conditions)])
                    for c, capsule in enumerate(order_of_capsules)]
        rng.shuffle(assigned)
        plan += [PlannedSession(order=n, person=person, capsule_id=capsule, condition=condition, level=level,
                                study=study, model=model if agent_of(condition) else None)
                 for n, (capsule, condition) in enumerate(assigned, start=1)]
    return plan


def write_plan_csv(plan: list[PlannedSession], path: str | Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*asdict(plan[0]).keys(), "command"] if plan else ["order"])
        writer.writeheader()
        for session in plan:
            writer.writerow({**asdict(session), "command": session.command})
