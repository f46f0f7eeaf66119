"""`corebench triage RUN --model M`: one model call per failed task, its proposals stored, its usage metered
and capped like a run's (`--max-cost`: no call starts once the cap is spent). The loop (`triage_tasks`) is
the same for an agent CLI (triage/scaffold_triage.py); only the asking differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from corebench_runner.models.base import ModelClient
from corebench_runner.models.errors import ModelUnavailable
from corebench_runner.records import Usage
from corebench_runner.store.database import Store
from corebench_runner.store.triage import Proposal, record_call
from corebench_runner.triage.material import TaskMaterial
from corebench_runner.triage.prompt import PROPOSE_TOOL, SYSTEM_PROMPT, model_prompt, read_reply

MAX_REPLY_TOKENS = 4_000


@dataclass
class TaskTriage:
    """What one task's triage call gave."""

    material: TaskMaterial
    proposals: list[Proposal]
    problems: list[str]
    usage: Usage


@dataclass
class TriageResult:
    done: list[TaskTriage] = field(default_factory=list)
    spent: Usage = field(default_factory=lambda: Usage(cost_usd=0.0))
    left: list[TaskMaterial] = field(default_factory=list)  # tasks not triaged because the cap was spent
    cap: float | None = None

    @property
    def proposal_count(self) -> int:
        return sum(len(t.proposals) for t in self.done)

    @property
    def answers_left(self) -> int:
        return sum(len(t.answers) for t in self.left)


def cap_reached(spent: Usage, cap: float | None) -> bool:
    return cap is not None and (spent.cost_usd or 0.0) >= cap


Ask = Callable[[TaskMaterial, float | None], TaskTriage]  # (task, dollars left or None) -> what it gave


def triage_tasks(store: Store, tasks: list[TaskMaterial], ask: Ask, label: str, scaffold: str = "",
                 max_cost: float | None = None, on_task: Callable[[TaskTriage], object] | None = None) -> TriageResult:
    """Ask about each task in turn, recording each call and its proposals; stop before a task once
    `max_cost` dollars are spent. `label` (the --model spec) and `scaffold` are stored with the call."""
    result = TriageResult(cap=max_cost)
    for position, material in enumerate(tasks):
        if cap_reached(result.spent, max_cost):
            result.left = tasks[position:]
            break
        left = None if max_cost is None else max_cost - (result.spent.cost_usd or 0.0)
        outcome = ask(material, left)
        record_call(store, material.task_id, label, scaffold, outcome.usage, outcome.proposals,
                    error="; ".join(outcome.problems) or None)
        result.spent.add(outcome.usage)
        result.done.append(outcome)
        if on_task is not None:
            on_task(outcome)
    return result


def model_asker(client_for: Callable[[TaskMaterial], ModelClient]) -> Ask:
    """One model call per task: the whole question in one message, the answer through the `propose` tool.
    `client_for(task)` gives the client for a task (a scripted session may be per capsule); the caller closes them."""
    def ask(material: TaskMaterial, left: float | None) -> TaskTriage:
        try:
            response = client_for(material).complete(
                SYSTEM_PROMPT, [{"role": "user", "content": model_prompt(material)}], [PROPOSE_TOOL],
                max_tokens=MAX_REPLY_TOKENS)
        except ModelUnavailable as exc:
            return TaskTriage(material, [], [f"the model was unavailable: {exc}"], Usage())
        read = read_reply(response.content, material)
        return TaskTriage(material, read.proposals, read.problems, response.usage)
    return ask
