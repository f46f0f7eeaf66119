"""`corebench triage RUN --model M`: one model call per failed task, its proposals stored, its usage metered
and capped like a run's (`--max-cost`: no call starts once the cap is spent).
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


def triage_with_model(store: Store, tasks: list[TaskMaterial], client_for: Callable[[TaskMaterial], ModelClient],
                      label: str, max_cost: float | None = None,
                      on_task: Callable[[TaskTriage], object] | None = None) -> TriageResult:
    """Ask the model about each task in turn; stop before a call once `max_cost` dollars are spent.

    `client_for(task)` gives the client for a task (a scripted session may be per capsule); the
    caller closes them. `label` is the --model spec stored with each proposal.
    """
    result = TriageResult(cap=max_cost)
    for position, material in enumerate(tasks):
        if cap_reached(result.spent, max_cost):
            result.left = tasks[position:]
            break
        client = client_for(material)
        try:
            response = client.complete(SYSTEM_PROMPT, [{"role": "user", "content": model_prompt(material)}],
                                       [PROPOSE_TOOL], max_tokens=MAX_REPLY_TOKENS)
        except ModelUnavailable as exc:
            outcome = TaskTriage(material, [], [f"the model was unavailable: {exc}"], Usage())
        else:
            read = read_reply(response.content, material)
            outcome = TaskTriage(material, read.proposals, read.problems, response.usage)
        record_call(store, material.task_id, label, "", outcome.usage, outcome.proposals,
                    error="; ".join(outcome.problems) or None)
        result.spent.add(outcome.usage)
        result.done.append(outcome)
        if on_task is not None:
            on_task(outcome)
    return result
