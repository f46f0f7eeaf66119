"""Did a re-run of the agent's reproduce.sh produce each reported answer?

A re-run (running/verify.py) ends in one of three states: no recipe was left, the recipe failed
(non-zero exit or its time ran out), or it ran. Each answer is then `no_recipe`, `rerun_failed`,
or `yes` / `no` by whether its value shows in what the re-run printed or wrote, matched exactly as
the source finder matches outputs (sightings.value_in, linear in the text's size).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corebench_runner.diagnostics.sightings import value_in

YES, NO, NO_RECIPE, RERUN_FAILED = "yes", "no", "no_recipe", "rerun_failed"
REPRODUCED = (YES, NO, NO_RECIPE, RERUN_FAILED)
RAN, FAILED, MISSING = "ran", "failed", "no_recipe"


@dataclass(frozen=True)
class Rerun:
    """What a re-run left: its state, exit code, time, and the text it printed and wrote."""

    state: str  # ran | failed | no_recipe
    exit_code: int | None = None
    timed_out: bool = False
    seconds: float = 0.0
    text: str = ""  # stdout, stderr and the text files it wrote


def reproduced_answers(answers: dict[str, Any], rerun: Rerun) -> dict[str, str]:
    """question -> yes | no | no_recipe | rerun_failed, for every answer with a value."""
    found = {}
    for question, value in answers.items():
        if value is None or value == "" or value == [] or value == {}:
            continue
        if rerun.state == MISSING:
            found[question] = NO_RECIPE
        elif rerun.state == FAILED:
            found[question] = RERUN_FAILED
        else:
            found[question] = YES if value_in(value, rerun.text) else NO
    return found
