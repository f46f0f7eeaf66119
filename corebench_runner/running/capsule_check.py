"""Capsule health: run a capsule's own reproduction (the oracle) K times and judge its answers.

For each question it compares the spread of the K answers with the reference runs: answers
that vary while the references agree (or that fall outside the references' 95% prediction
interval on some runs only) mark the question flaky; answers that agree with each other but
not with the references mark it mismatched (a likely broken capsule or a drifted environment).
Each run's time and peak memory (read from the container's cgroup before it is removed) give
suggested `[resources]` for capsule.toml. With `record`, the K answers become each question's
reference `runs` in capsule.toml (the capsule may have none yet), provided every run answered.
The oracle runs in the sandbox a run's task would get (running/sandboxing.py): as the capsule's
agent_user, under its limits and the engine's watchdog.
"""

from __future__ import annotations

import json
import math
import secrets
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from corebench_runner.capsules import levels
from corebench_runner.capsules.format import Capsule, Question
from corebench_runner.capsules.plugins import load_plugin
from corebench_runner.capsules.suite import Suite
from corebench_runner.deadline import Deadline
from corebench_runner.errors import UserError
from corebench_runner.grading import official_rule
from corebench_runner.records import Limits, Outcome, Submission
from corebench_runner.running.outputs import read_report, settle
from corebench_runner.running.sandboxing import authoring_gpu, open_for, sandbox_spec
from corebench_runner.sandbox.labels import run_labels
from corebench_runner.sandbox.providers import provider_for
from corebench_runner.sandbox.watchdog import Watchdog

TIME_HEADROOM = 3.0  # suggested time limit: this many times the slowest run, at least a minute
MEMORY_HEADROOM = 1.5  # suggested memory: this many times the highest peak, at least 256 MiB
MIN_MEMORY = 256 * 2**20


@dataclass
class OracleRun:
    """One reproduction: what it answered and what it cost."""

    answers: dict[str, Any] | None
    seconds: float
    peak_memory_bytes: int | None
    gpu_memory_mib: int | None  # None: no GPU was handed in
    outcome: str | None  # None: the oracle produced a report
    error: str | None


@dataclass
class QuestionHealth:
    question: str
    references: list[Any]
    observed: list[Any]  # one per run; None where the run gave no answer
    status: str  # stable | flaky | mismatch | unanswered
    note: str


@dataclass
class HealthReport:
    capsule_id: str
    level: str
    runs: list[OracleRun]
    questions: list[QuestionHealth]
    suggested: dict[str, Any] = field(default_factory=dict)
    recorded: bool = False  # the runs' answers were written into capsule.toml as reference runs

    @property
    def flaky(self) -> list[QuestionHealth]:
        return [q for q in self.questions if q.status == "flaky"]

    @property
    def healthy(self) -> bool:
        return all(q.status == "stable" for q in self.questions) and all(r.outcome is None for r in self.runs)

    def to_json(self) -> dict[str, Any]:
        return {"capsule": self.capsule_id, "level": self.level, "healthy": self.healthy,
                "runs": [vars(r) for r in self.runs], "questions": [vars(q) for q in self.questions],
                "suggested_resources": self.suggested, "recorded": self.recorded}


# ----------------------------------------------------------------------------- judging answers

def _spread_zero(runs: list[Any]) -> bool:
    return all(json.dumps(r, sort_keys=True) == json.dumps(runs[0], sort_keys=True) for r in runs)


def judge_question(question: Question, observed: list[Any]) -> QuestionHealth:
    """Compare the K oracle answers of one question with its reference runs."""
    references = list(question.runs)
    shown = ", ".join(json.dumps(v, ensure_ascii=False) for v in observed)
    if any(v is None for v in observed):
        return QuestionHealth(question.text, references, observed, "unanswered",
                              f"some runs gave no answer ({shown})")
    if not references:
        return QuestionHealth(question.text, references, observed, "unrecorded",
                              f"answers {shown}; no reference runs yet (--record writes them)")
    inside = [official_rule.check(references, v).correct for v in observed]
    varies = not _spread_zero(observed)
    interval = official_rule.prediction_interval(references)
    if _spread_zero(references):
        where = f"the reference runs all give {json.dumps(references[0], ensure_ascii=False)}"
    elif interval:
        where = f"the reference interval is [{interval[0]:.6g}, {interval[1]:.6g}]"
    else:
        where = f"the reference runs give {json.dumps(references, ensure_ascii=False)}"
    if varies and (_spread_zero(references) or not all(inside)):
        return QuestionHealth(question.text, references, observed, "flaky",
                              f"answers {shown} vary across runs; {where}")
    if not all(inside):
        return QuestionHealth(question.text, references, observed, "mismatch",
                              f"answers {shown} agree with each other but not with the references; {where}")
    return QuestionHealth(question.text, references, observed, "stable", f"answers {shown}; {where}")


def recorded_lines(report: HealthReport) -> list[str]:
    """What --record did, for the terminal."""
    if not report.recorded:
        return ["", "nothing recorded: every run must answer every question; fix the runs above and try again"]
    lines = ["", f"recorded {len(report.runs)} reference runs for {len(report.questions)} question(s) in capsule.toml"]
    for q in report.questions:
        if not _spread_zero(q.observed):
            lines.append(f"  varies between runs (a stochastic result; check further runs land inside its "
                         f"interval): {q.question[:90]}")
    return lines


# ----------------------------------------------------------------------------- resources

def _memory_text(n_bytes: float) -> str:
    mib = math.ceil(n_bytes / 2**20 / 256) * 256  # round up to 256 MiB steps
    return f"{mib // 1024}g" if mib % 1024 == 0 else f"{mib}m"


def suggest_resources(capsule: Capsule, runs: list[OracleRun]) -> dict[str, Any]:
    """[resources] values with headroom over what the oracle runs used."""
    suggested: dict[str, Any] = {"cpus": capsule.resources.cpus}
    finished = [r for r in runs if r.outcome is None] or runs
    if finished:
        slowest = max(r.seconds for r in finished)
        suggested["time_limit"] = max(60, int(math.ceil(slowest * TIME_HEADROOM / 60) * 60))
    peaks = [r.peak_memory_bytes for r in runs if r.peak_memory_bytes]
    suggested["memory"] = _memory_text(max(MIN_MEMORY, max(peaks) * MEMORY_HEADROOM)) if peaks \
        else capsule.resources.memory
    suggested["pids"] = capsule.resources.pids
    gpu = [r.gpu_memory_mib for r in runs if r.gpu_memory_mib is not None]
    suggested["gpu"] = ("required" if gpu and max(gpu) > 0 else capsule.gpu)
    return suggested


def resources_toml(suggested: dict[str, Any]) -> str:
    lines = ["[resources]"]
    for key in ("cpus", "memory", "time_limit", "pids"):
        if key in suggested:
            lines.append(f"{key} = {json.dumps(suggested[key])}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- running the oracle

def _read_gpu_memory(sandbox: Any) -> int | None:
    result = sandbox.exec("nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits", timeout=60)
    if result.exit_code != 0:
        return None
    return sum(int(x) for x in result.stdout.split() if x.isdigit())


def run_oracle_once(suite: Suite, capsule: Capsule, level: str, image: str, use_gpu: bool,
                    sandbox_kind: str = "docker") -> OracleRun:
    oracle = load_plugin("scaffolds", "oracle", suite.root)
    limits = Limits(max_steps=1, wall_seconds=float(capsule.resources.time_limit))
    # Labelled as a run of its own, so `corebench clean` finds what a killed check leaves.
    spec = sandbox_spec(capsule, image, run_labels(f"check-{capsule.id}-{secrets.token_hex(3)}", level),
                        gpu=use_gpu, wall_seconds=limits.wall_seconds)
    peak = gpu = None
    with tempfile.TemporaryDirectory(prefix="corebench-check-") as tmp:
        workspace = levels.prepare(capsule, level, Path(tmp) / "workspace")
        deadline = Deadline.after(limits.wall_seconds)
        started = time.monotonic()
        sandbox, task = open_for(sandbox_kind, spec, workspace, deadline)
        with sandbox, Watchdog(sandbox, spec.watchdog_seconds, deadline) as watchdog:
            try:
                submission = oracle.run(task, sandbox, None, limits)
            except Exception:
                if not watchdog.fired:
                    raise
                submission = Submission(answers=None, seconds=time.monotonic() - started)  # died with its sandbox
            if not watchdog.fired:
                settle(submission, read_report(sandbox, task.report_path))  # as a run would
                # Read before close(): the cgroup goes away with the container.
                peak = sandbox.peak_memory_bytes()
                gpu = _read_gpu_memory(sandbox) if use_gpu else None
    if watchdog.fired:
        submission.outcome = Outcome.TIMEOUT
        submission.error = f"stopped by the engine after {spec.watchdog_seconds:g}s (the reproduction overran)"
    outcome = getattr(submission.outcome, "value", submission.outcome)
    return OracleRun(answers=submission.answers, seconds=round(submission.seconds, 2), peak_memory_bytes=peak,
                     gpu_memory_mib=gpu, outcome=outcome, error=submission.error)


def _require_extract_rules(capsule: Capsule) -> None:
    if not capsule.questions:
        raise UserError(f"{capsule.toml_path}: no questions to record; add them with "
                        f"`corebench capsule add-question {capsule.id} TEXT --file FILE --key KEY`")
    without = [q.text for q in capsule.questions if not q.extract]
    if without:
        raise UserError(f"{capsule.toml_path}: --record needs an `extract` rule for every question; "
                        f"{len(without)} lack one, first {without[0]!r}")


def check_capsule(suite: Suite, capsule_id: str, runs: int = 3, level: str | None = None,
                  sandbox_kind: str = "docker", on_start: Callable[[Capsule, str], None] | None = None,
                  on_run: Callable[[int, OracleRun], None] | None = None, record: bool = False,
                  progress: Callable[[str], None] | None = None) -> HealthReport:
    """Run the oracle `runs` times on a capsule and judge each question's answers (callbacks report progress).

    With `record`, the answers become the questions' reference runs when every run answered all.
    """
    if runs < 2:
        raise UserError(f"--runs must be at least 2 to see a spread, not {runs}")
    capsule = suite.load(capsule_id, draft=record)
    if not capsule.reproduce:
        raise UserError(f"{capsule.toml_path}: no `reproduce` command; add one (and an `extract` rule per "
                        "question) so the oracle can run this capsule")
    if record:
        _require_extract_rules(capsule)
    supported = capsule.supported_levels()
    level = level or ("medium" if "medium" in supported else supported[0] if supported else "medium")
    if level not in supported:
        raise UserError(f"--level {level}: capsule {capsule.id} supports {', '.join(supported) or 'no level'}; "
                        "pick one of those")
    from corebench_runner import images

    provider = provider_for(sandbox_kind)
    provider.preflight()
    use_gpu = authoring_gpu(capsule, sandbox_kind)
    if on_start:
        on_start(capsule, level)
    image = "none"
    if provider.uses_images:
        image = images.environment_image(capsule, progress=progress, sandbox_kind=sandbox_kind)
    results = []
    for number in range(1, runs + 1):
        result = run_oracle_once(suite, capsule, level, image, use_gpu, sandbox_kind)
        results.append(result)
        if on_run:
            on_run(number, result)
    observed = {q.text: [(r.answers or {}).get(q.text) for r in results] for q in capsule.questions}
    recorded = record and all(r.outcome is None for r in results) and \
        all(v is not None for values in observed.values() for v in values)
    if recorded:
        from corebench_runner.capsules.edit import record_runs

        record_runs(capsule.path, observed)
        capsule = replace(capsule, questions=tuple(replace(q, runs=tuple(observed[q.text])) for q in capsule.questions))
    questions = [judge_question(q, observed[q.text]) for q in capsule.questions]
    return HealthReport(capsule.id, level, results, questions, suggest_resources(capsule, results), recorded)
