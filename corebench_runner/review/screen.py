"""What the reviewer reads: plain text sections, 80 columns wide, fit for ssh, tmux and logs."""

from __future__ import annotations

import json
import textwrap
from typing import Any

from corebench_runner.grading.official_rule import check
from corebench_runner.models.names import display_name
from corebench_runner.review.evidence import Evidence, excerpt
from corebench_runner.review.triage_view import triage_lines
from corebench_runner.review.verdicts import AnswerView, LogEntry, ReviewRecord
from corebench_runner.store.results import RunSummary, percent, verified_detail
from corebench_runner.store.triage import Proposal
from corebench_runner.terminal import printable  # agent text spelled out, as every command prints it

WIDTH = 80
LABEL = 12  # width of the label column


def fmt_value(value: Any) -> str:
    """JSON spelling, so a string "0.93" and a number 0.93 look different to the reviewer."""
    return json.dumps(value, ensure_ascii=False)


def _field(label: str, text: str) -> list[str]:
    """`label     text`, with continuation lines indented under the text."""
    indent = " " * LABEL
    lines = textwrap.wrap(printable(text), WIDTH - LABEL, break_long_words=True, break_on_hyphens=False) or [""]
    return [f"{label:<{LABEL}}{lines[0]}"] + [indent + line for line in lines[1:]]


def _rule(title: str) -> str:
    return f"== {title} ".ljust(WIDTH, "=")


def describe_rule(view: AnswerView) -> str:
    """The official rule's decision and its interval (or the exact value) for this answer, in words."""
    if not view.reported_present:
        return "not reported, so incorrect"
    if not view.references:
        return "no reference runs"
    decision = check(list(view.references), view.reported)
    return f"{'correct' if decision.correct else 'incorrect'}: {decision.reason}"


def answer_screen(view: AnswerView, position: int, total: int, past: list[ReviewRecord],
                  evidence: Evidence, proposal: Proposal | None = None) -> list[str]:
    """Everything about one answer, in the order a reviewer reads it."""
    key = view.key
    lines = ["", _rule(f"{position} of {total}: answer {view.answer_id}")]
    lines += _field("Run", f"{key.run_id} ({view.model}, {view.scaffold}, {view.level})")
    lines += _field("Capsule", f"{key.capsule_id}, repeat {key.repeat}")
    lines += _field("Question", key.question + ("  [vision]" if view.vision else ""))
    lines += _field("Reported", fmt_value(view.reported) if view.reported_present else "(not reported)")
    for number, value in enumerate(view.references, start=1):
        lines += _field("Reference" if number == 1 else "", f"run {number}: {fmt_value(value)}")
    lines += _field("Official", describe_rule(view))
    lines += _field("Grader", f"{view.auto_status} ({view.grader}): {view.auto_reason or 'no reason given'}")
    lines += _field("Standing", view.standing)
    lines += source_fields(view)
    for record in past:
        lines += _field("History", verdict_line(record))
    lines += triage_lines(proposal, WIDTH, LABEL)  # a model's proposal, when the answer was triaged
    lines += ["", f"-- Evidence: {evidence.note}"]
    for step in evidence.steps:
        status = "" if step.exit_code in (0, None) else f"   [exit {step.exit_code}]"
        command = textwrap.shorten(printable(" ".join(step.command.split())), WIDTH - 4 - len(status),
                                   placeholder=" ...")
        lines.append(f"  $ {command}{status}")
        for out in excerpt(step, view.reported):
            shown = printable(out.strip())
            lines.append("    " + textwrap.shorten(shown, WIDTH - 4, placeholder=" ...") if shown else "")
    # A path is printed whole, never wrapped, so it can be copied from the terminal.
    lines.append(f"{'Transcript':<{LABEL}}{printable(str(view.transcript or '(none kept)'))}")
    return lines


def source_fields(view: AnswerView) -> list[str]:
    """Where the value came from, the command and lines that show it, and the re-run's word on it."""
    if not view.source and not view.reproduced:
        return []
    evidence = view.source_evidence or {}
    lines = _field("Source", (view.source or "unknown") + (f": {evidence['note']}" if evidence.get("note") else ""))
    if evidence.get("command"):
        lines += _field("", f"$ {' '.join(str(evidence['command']).split())}")
    for line in evidence.get("lines") or []:
        lines += _field("", f"  {line}")
    if view.reproduced:
        lines += _field("Reproduced", view.reproduced)
    return lines


def verdict_line(record: ReviewRecord) -> str:
    reason = f": {record.reason}" if record.reason else ""
    return (f"{record.created} {record.reviewer} ({record.source}) "
            f"{record.old_status} -> {record.new_status}{reason}")


def log_lines(entry: LogEntry) -> list[str]:
    """One audit-trail row as a short block."""
    rec, key = entry.record, entry.key
    change = f"{rec.old_status} -> {rec.new_status}" + (f": {rec.reason}" if rec.reason else "")
    lines = [printable(f"#{rec.id}  {rec.created}  {rec.reviewer} ({rec.source})")]
    for text in (f"answer {rec.answer_id}: run {key.run_id}, {key.capsule_id} repeat {key.repeat}",
                 f"Q: {key.question}", change):
        lines += ["    " + line for line in textwrap.wrap(printable(text), WIDTH - 4)]
    return lines


def summary_line(summary: RunSummary) -> str:
    """Both accuracies and the open disputes, the way every command states them."""
    reproduced = (f"{percent(summary.reproduced_accuracy)} reproduced, " if summary.reproduced_accuracy is not None
                  else "")
    return (f"run {summary.id} ({display_name(summary.model)}): accuracy {percent(summary.accuracy, 'n/a')} automatic, "
            f"{percent(summary.verified_accuracy, 'n/a')} verified ({verified_detail(summary)}), "
            f"{reproduced}{summary.open_disputes} open disputes")
