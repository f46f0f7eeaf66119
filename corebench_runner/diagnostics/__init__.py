"""Diagnostics: how far each task got, why it failed, and whether its correct answers were earned.

`diagnose()` is pure: it reads the transcript, the report, the verdicts and the capsule's own
files, and needs no model. The run engine calls it after grading and keeps `Diagnosis.to_json()`
in tasks.details_json under "diagnostics"; diagnostics.stored.queue_flagged_answers() then puts
each flagged correct answer in the review queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from corebench_runner.diagnostics.actions import observable, read_actions
from corebench_runner.diagnostics.provenance import AnswerSource, answer_sources
from corebench_runner.diagnostics.reasons import primary_reason
from corebench_runner.diagnostics.shortcuts import (
    answer_from_nowhere,
    constant_edits,
    recreated_from_memory,
    shipped_answer_reads,
    suspicious_reads,
)
from corebench_runner.diagnostics.stages import STAGE_LABELS, STAGES, judge_stages
from corebench_runner.records import TaskSpec

FLAG_PREFIX = "shortcut monitor: "
MONITOR_REVIEWER = "shortcut-monitor"  # who the audit trail says queued a flagged answer
MONITOR_SOURCE = "monitor"
DETAILS_KEY = "diagnostics"  # where the run engine keeps a Diagnosis in tasks.details_json


@dataclass
class Diagnosis:
    """stages in funnel order; primary_reason is None for a correct (or skipped) task."""

    stages: dict[str, bool | None]  # None: the transcript cannot tell (e.g. output piped into tail)
    primary_reason: dict[str, Any] | None = None
    flags: list[dict[str, Any]] = field(default_factory=list)
    monitored: bool = True  # False when the transcript showed no actions to judge
    summary: dict[str, Any] | None = None  # {"text", "model"} from `corebench explain`, when asked for
    # question -> where its answer came from; kept in the answers' own columns, not in to_json
    sources: dict[str, AnswerSource] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"stages": dict(self.stages), "primary_reason": self.primary_reason, "flags": list(self.flags),
                "monitored": self.monitored, "summary": self.summary}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Diagnosis":
        stages = data.get("stages", {})
        return cls(stages={s: None if stages.get(s) is None and s in stages else bool(stages.get(s)) for s in STAGES},
                   primary_reason=data.get("primary_reason"), flags=list(data.get("flags") or []),
                   monitored=bool(data.get("monitored", True)), summary=data.get("summary"))

    def flags_for(self, question: str) -> list[dict[str, Any]]:
        """Flags that concern one answer: its own, and the task-wide ones (which taint every answer)."""
        return [f for f in self.flags if f.get("question") in (None, question)]


def _status(verdict: Any) -> str:
    status = getattr(verdict, "status", verdict)
    return str(getattr(status, "value", status))


def diagnose(task: TaskSpec, transcript: list[dict[str, Any]], answers: dict[str, Any] | None,
             verdicts: dict[str, Any], outcome: str, submission_error: str | None, capsule: Any,
             produced_files: list[str] | None = None) -> Diagnosis:
    """Stages, primary failure reason and shortcut flags of one finished task.

    verdicts maps question -> Verdict (or a status string); produced_files lists the paths in
    results/ after the task (None when they could not be read).
    """
    outcome = str(getattr(outcome, "value", outcome))
    actions = read_actions(transcript)
    all_correct = bool(verdicts) and all(_status(v) == "correct" for v in verdicts.values())
    found = judge_stages(actions, capsule, task.level, answers, all_correct, produced_files)
    reason = primary_reason(outcome, submission_error, actions, found, verdicts, answers)
    monitored = observable(transcript)
    flags: list[dict[str, Any]] = []
    if monitored:
        reported = answers or {}
        flags += answer_from_nowhere(reported, actions, set(task.vision_questions))
        flags += constant_edits(reported, actions, capsule)
        flags += suspicious_reads(actions, capsule, task.workspace_dir)
        flags += recreated_from_memory(actions, capsule, task.level)
        flags += shipped_answer_reads(reported, actions, capsule, task.level, task.workspace_dir)
    sources = answer_sources(answers or {}, actions, capsule, task.level, task.workspace_dir,
                             set(task.vision_questions)) if monitored else {}
    return Diagnosis(stages=found.stages, primary_reason=reason, flags=flags, monitored=monitored, sources=sources)


def diagnosis_failed(exc: Exception) -> Diagnosis:
    """What is kept when diagnose() itself failed: no stages reached, and the error as the reason."""
    return Diagnosis(stages={s: False for s in STAGES}, monitored=False, primary_reason={
        "code": "diagnostics_error", "message": f"diagnostics failed ({type(exc).__name__}: {exc}); please report it",
        "evidence": {"command": "", "output_excerpt": ""}})


__all__ = ["DETAILS_KEY", "Diagnosis", "FLAG_PREFIX", "STAGES", "STAGE_LABELS", "diagnose", "diagnosis_failed"]
