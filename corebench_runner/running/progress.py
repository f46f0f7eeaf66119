"""What a person watching a run sees: a tqdm bar while it runs, one screen of summary at the end."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from tqdm import tqdm

from corebench_runner.models.names import display_name
from corebench_runner.records import Outcome
from corebench_runner.store.results import RunSummary, coverage_phrase, percent, verified_phrase


class Progress:
    """A bar of tasks done with live accuracy, dollars spent and the capsules running; silent when quiet.

    Without a terminal (a log file, CI) there is no bar, whose redrawn frames would fill the log:
    each finished task is one line instead (capsule, outcome, time, cost).
    """

    SHOWN_RUNNING = 3  # capsules named beside the bar; the rest counted

    def __init__(self, total: int, already_done: int = 0, correct: int = 0, scored: int = 0,
                 cost_usd: float | None = 0.0, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.correct = correct
        self.scored = scored
        self.cost_usd = cost_usd
        self.infra_errors = 0
        self.total = total
        self.done = already_done
        self.running: list[str] = []
        self._stream = stream or sys.stderr
        self._lock = threading.Lock()  # note() also comes from worker threads (an image build's steps)
        live = not quiet and _is_terminal(self._stream)
        self._log_lines = not quiet and not live
        self._bar = tqdm(total=total, initial=already_done, unit="task", desc="tasks", file=self._stream,
                         dynamic_ncols=True, leave=True) if live else None
        self._refresh()

    def task_started(self, capsule_id: str) -> None:
        self.running.append(capsule_id)
        self._refresh()

    def task_done(self, outcome: str, cost_usd: float | None, capsule_id: str | None = None,
                  seconds: float | None = None) -> None:
        if outcome != Outcome.SKIPPED.value:
            self.scored += 1
        if outcome == Outcome.CORRECT.value:
            self.correct += 1
        if outcome == Outcome.INFRA_ERROR.value:
            self.infra_errors += 1
        if self.cost_usd is not None:
            self.cost_usd = None if cost_usd is None else self.cost_usd + cost_usd
        self.done += 1
        if capsule_id in self.running:
            self.running.remove(capsule_id)
        if self._log_lines:
            took = "-" if seconds is None else f"{seconds:.0f}s"
            cost = "?" if cost_usd is None else f"${cost_usd:.2f}"
            accuracy = f"{self.correct / self.scored:.0%}" if self.scored else "-"
            total = "?" if self.cost_usd is None else f"${self.cost_usd:.2f}"
            with self._lock:
                print(f"[{self.done}/{self.total}] {capsule_id or '?'}  {outcome}  {took}  {cost}   "
                      f"(acc {accuracy}, cost {total} so far)", file=self._stream, flush=True)
        if self._bar is not None:
            self._bar.update(1)
        self._refresh()

    def note(self, text: str) -> None:
        """A line above the bar, or in the log (nothing when quiet); safe to call from any thread."""
        if self._bar is not None:
            self._bar.write(text, file=self._bar.fp)  # tqdm's own lock keeps it apart from redraws
        elif self._log_lines:
            with self._lock:
                print(text, file=self._stream, flush=True)

    def _refresh(self) -> None:
        if self._bar is None:
            return
        accuracy = f"{self.correct / self.scored:.0%}" if self.scored else "-"
        cost = "?" if self.cost_usd is None else f"${self.cost_usd:.2f}"
        postfix = {"acc": accuracy, "cost": cost}
        if self.infra_errors:
            postfix["infra"] = str(self.infra_errors)
        if self.running:
            shown = ", ".join(self.running[:self.SHOWN_RUNNING])
            more = len(self.running) - self.SHOWN_RUNNING
            postfix["running"] = shown + (f" +{more}" if more > 0 else "")
        self._bar.set_postfix(postfix, refresh=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def provenance_lines(summary: RunSummary) -> list[str]:
    """Reproduced accuracy (after run --verify) and where the correct answers came from."""
    lines = []
    if summary.reproduced_accuracy is not None:
        lines.append(f"  reproduced accuracy {percent(summary.reproduced_accuracy)} ({summary.reproduced_correct}/"
                     f"{summary.scored} tasks correct with every answer re-run)   re-run time "
                     f"{summary.rerun_seconds:.0f}s")
    shares = summary.source_shares()
    if shares:
        lines.append("  correct answers by source: " + ", ".join(
            f"{source} {share:.0%}" for source, share in shares.items()))
    return lines


def summary_lines(summary: RunSummary) -> list[str]:
    """One screen: what ran, how it ended, how to look closer."""
    cost = "unknown (a model's price is not known)" if summary.cost_usd is None else f"${summary.cost_usd:.2f}"
    lines = [
        f"run {summary.id}  [{summary.status}]",
        f"  model {display_name(summary.model)}   scaffold {summary.scaffold} {summary.scaffold_version}   "
        f"level {summary.level}   grader {summary.grader}",
        f"  tasks {summary.tasks_done}/{summary.tasks_total} finished",
        f"  accuracy {percent(summary.accuracy)} ({summary.correct}/{summary.scored} tasks correct)   "
        f"infra errors {summary.infra_errors}",
        f"  verified accuracy {verified_phrase(summary)}   open disputes {summary.open_disputes}",
        f"  review coverage {coverage_phrase(summary)}",
        f"  cost {cost}   task time {summary.seconds:.0f}s",
        "  outcomes: " + (", ".join(f"{k} {v}" for k, v in sorted(summary.outcomes.items())) or "none yet"),
    ]
    lines[6:6] = provenance_lines(summary)  # after verified accuracy and review coverage
    for item in summary.set_asides:
        what = "whole task" if item["whole_task"] else f"question {item['question'][:60]!r}"
        lines.append(f"  set aside: {item['capsule_id']} {what} by {item['reviewer']}, {item['created']}: "
                     f"{item['reason']}")
    if summary.tasks_done < summary.tasks_total:
        lines.append(f"  unfinished tasks remain: corebench run --resume {summary.id}")
    if summary.open_disputes:
        lines.append("  settle disputes with: corebench review")
    lines.append(f"  details: corebench show {summary.id}")
    return lines
