"""What the harness itself spent on a run's tasks, apart from the agent's own cost: model calls made by
`corebench triage` (triage_calls) and `corebench explain` (explain_calls). Never part of accuracy per
dollar, a task's cost or HAL's totals; shown beside them so a lab's whole bill is accounted for."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from corebench_runner.store.database import Store

# Each harness table with the command that spends into it.
SPENDERS = {"triage": "triage_calls", "explain": "explain_calls"}


@dataclass(frozen=True)
class Spending:
    """One command's calls on a run: how many, their tokens and dollars (`unpriced` calls had no price)."""

    command: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    unpriced: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def harness_spending(store: Store, run_id: str) -> list[Spending]:
    """Per command that spent anything on the run's tasks, in a fixed order."""
    found = []
    for command, table in SPENDERS.items():
        row = store.query(
            f"SELECT COUNT(*) AS calls, COALESCE(SUM(c.input_tokens), 0) AS input_tokens, "
            f"COALESCE(SUM(c.output_tokens), 0) AS output_tokens, COALESCE(SUM(c.cost_usd), 0) AS cost_usd, "
            f"SUM(c.cost_usd IS NULL) AS unpriced FROM {table} c JOIN tasks t ON t.id = c.task_id "
            f"WHERE t.run_id = ?", (run_id,))[0]
        if row["calls"]:
            found.append(Spending(command, row["calls"], row["input_tokens"], row["output_tokens"],
                                  float(row["cost_usd"]), row["unpriced"] or 0))
    return found


def spending_lines(spending: list[Spending]) -> list[str]:
    """`show`'s lines: the harness's own spending, named as not the agent's."""
    if not spending:
        return []
    parts = []
    for s in spending:
        dollars = f"${s.cost_usd:.2f}" + (f" + {s.unpriced} unpriced" if s.unpriced else "")
        parts.append(f"{s.command} {s.calls} call(s), {s.input_tokens + s.output_tokens} tokens, {dollars}")
    return ["harness spending (not the agent's cost): " + "; ".join(parts)]
