"""Plain records passed between the modules of the pipeline.

capsule -> TaskSpec (what a scaffold may see) -> Submission (what it returns)
-> Verdict per question (what a grader says) -> TaskOutcome (what the store keeps).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Outcome(str, enum.Enum):
    """How a task ended. Infrastructure failures are never scored as wrong answers."""

    CORRECT = "correct"
    INCORRECT = "incorrect"
    DISPUTED = "disputed"
    NO_REPORT = "no_report"
    INVALID_REPORT = "invalid_report"
    TIMEOUT = "timeout"
    BUDGET_EXCEEDED = "budget_exceeded"
    INFRA_ERROR = "infra_error"
    SKIPPED = "skipped"  # e.g. the capsule needs a GPU the host lacks


class VerdictStatus(str, enum.Enum):
    CORRECT = "correct"
    INCORRECT = "incorrect"
    DISPUTED = "disputed"


def outcome_from_verdicts(statuses) -> Outcome:
    """A graded task's outcome: one wrong (or no) answer sinks it, else any dispute keeps it disputed."""
    statuses = {str(getattr(s, "value", s)) for s in statuses}
    if not statuses or VerdictStatus.INCORRECT.value in statuses:
        return Outcome.INCORRECT
    if VerdictStatus.DISPUTED.value in statuses:
        return Outcome.DISPUTED
    return Outcome.CORRECT


@dataclass(frozen=True)
class Verdict:
    """A grader's decision on one question."""

    status: VerdictStatus
    reason: str


@dataclass(frozen=True)
class ExecResult:
    """What Sandbox.exec returns. Output beyond the cap is dropped and `truncated` says so."""

    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool = False
    truncated: bool = False
    seconds: float = 0.0

    def __iter__(self):  # allows `code, out, err, timed_out = sandbox.exec(...)`
        return iter((self.exit_code, self.stdout, self.stderr, self.timed_out))


# Usage's token counts, by their Messages API names.
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


@dataclass
class Usage:
    """Tokens and dollars. cost_usd is None when the model's price is unknown."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_usd: float | None = 0.0
    calls: int = 0

    def add(self, other: "Usage") -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_creation_input_tokens += other.cache_creation_input_tokens
        self.cache_read_input_tokens += other.cache_read_input_tokens
        self.calls += other.calls
        if self.cost_usd is None or other.cost_usd is None:
            self.cost_usd = None
        else:
            self.cost_usd += other.cost_usd


@dataclass(frozen=True)
class Limits:
    """Per-task limits a scaffold must honour. None means no limit."""

    max_steps: int | None = 60
    wall_seconds: float | None = 3600.0
    max_tokens: int | None = None
    max_cost_usd: float | None = None


@dataclass(frozen=True)
class OracleSpec:
    """How the oracle scaffold reproduces a capsule: a command, then answer extraction.

    extract maps question text -> {"file": path relative to the workspace, and one of
    "key" (a dotted path into a JSON file), "regex" (group 1 of the first match), "csv"
    (row/column selectors)}. It carries no reference values.
    """

    reproduce: str
    extract: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class TaskSpec:
    """Everything a scaffold is allowed to know about a task. Never a reference value."""

    capsule_id: str
    level: str
    prompt: str  # the full prompt for this level, saying where report.json goes
    questions: tuple[str, ...]  # exact keys the report must use
    vision_questions: tuple[str, ...]
    workspace_dir: str  # path of the workspace inside the sandbox, e.g. /workspace
    report_path: str  # e.g. /workspace/report.json
    language: str = ""
    oracle: OracleSpec | None = None


@dataclass
class Submission:
    """What a scaffold returns for one task: what it did, and how it ended if it ended early.

    answers: what the scaffold handed in by its own means (core-agent's submit, the oracle's
    extraction), or None; the engine grades report.json as it finds it in the sandbox. outcome is
    set only when the scaffold itself ended the task early (timeout, budget_exceeded, infra_error,
    skipped); whether there is a report to grade (no_report, invalid_report) is the engine's to
    decide, the same for every scaffold (running/outputs.py). error says why it ended early, or,
    with no outcome, how it ended (the engine adds it after its own reason when it finds no report).
    """

    answers: dict[str, Any] | None
    transcript: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    outcome: Outcome | None = None
    error: str | None = None
    seconds: float = 0.0
    steps: int = 0
