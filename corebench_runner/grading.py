"""The Grader contract. A grader plugin (graders/NAME.py) exposes GRADER with this shape.

Graders are pure and fast: no I/O, no randomness. See graders/ for the policies.
"""

from __future__ import annotations

from typing import Any, Protocol

from corebench_runner.capsule import Question
from corebench_runner.records import Verdict


class Grader(Protocol):
    name: str

    def grade(self, question: Question, reported: Any, *, reported_present: bool = True) -> Verdict:
        """Grade one reported value against question.runs (the reference runs)."""
