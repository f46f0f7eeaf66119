"""What a task leaves in its sandbox: report.json (authoritative for the answers) and results/.

This is the one place report.json is read, and where a task without a report to grade becomes
no_report or invalid_report, the same way whatever the scaffold. Both are read at once, two round
trips to the engine side by side, since they stand between the agent's last step and the task's
score.
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corebench_runner.records import Outcome, Submission, TaskSpec
from corebench_runner.running import tracing
from corebench_runner.sandbox.base import CopyTooLarge, FileTooLarge

# Produced files larger than this stay in the container; the task notes that they were dropped.
MAX_RESULTS_BYTES = 200 * 1024 * 1024
# Outcomes only the engine sets, from what it finds at the report path.
# report.json is read up to this size: answers to a few questions fit many times over.
MAX_REPORT_BYTES = 1024 * 1024
REPORT_OUTCOMES = (Outcome.NO_REPORT, Outcome.INVALID_REPORT)


@dataclass
class Report:
    """report.json as the engine found it in the sandbox."""

    state: str  # ok | missing | invalid
    value: dict[str, Any] | None = None  # when ok: question -> answer
    raw: str | None = None  # the file as written, kept with the task's artifacts
    problem: str = ""  # when not ok: why there is nothing to grade


def read_outputs(sandbox: Any, task: TaskSpec, attempt: Any, tmp: Path) -> None:
    """report.json and results/, both at once (two round trips to the engine, not one after the other);
    then how the task ended, if it left no report to grade (settle)."""
    copied: dict[str, Any] = {}

    def copy_results() -> None:
        try:
            with tracing.phase(attempt.job.task_id, "results_copy"):
                copied["tar"] = _collect_results(sandbox, f"{task.workspace_dir}/results", tmp, attempt.details)
        except BaseException as exc:  # raised below, in the task's own thread
            copied["error"] = exc

    copier = threading.Thread(target=copy_results, name=f"task-{attempt.job.task_id}-results", daemon=True)
    copier.start()
    try:
        with tracing.phase(attempt.job.task_id, "report_read"):
            report = read_report(sandbox, task.report_path)
    finally:
        copier.join()
    if "error" in copied:
        raise copied["error"]
    attempt.results_tar = copied["tar"]
    attempt.report_state, attempt.report, attempt.report_raw = report.state, report.value, report.raw
    attempt.report_problem = report.problem
    settle(attempt.submission, report)


def read_report(sandbox: Any, report_path: str) -> Report:
    """The agent's report.json: missing (none, a folder, a link to nowhere or to itself), invalid (not
    JSON, or JSON but not an object of question: answer), or ok."""
    try:
        data = sandbox.read_file(report_path, max_bytes=MAX_REPORT_BYTES)
    except FileTooLarge as exc:  # nothing of it is read, kept or looked at: one huge answer must not cost the host
        held = f"{exc.size} bytes" if exc.size is not None else f"more than {MAX_REPORT_BYTES} bytes"
        return Report("invalid", problem=(f"{report_path} holds {held}, over the {MAX_REPORT_BYTES} byte cap on a "
                                          "report (answers are values, not files)"))
    except (OSError, RecursionError):
        return Report("missing", problem=f"the agent wrote no report at {report_path}")
    raw = data.decode("utf-8", errors="replace")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # not JSON; an int past Python's digit limit; nested too deep
        reason = "nested too deep" if isinstance(exc, RecursionError) else str(exc)
        return Report("invalid", raw=raw, problem=f"{report_path} is not valid JSON ({reason})")
    if not isinstance(value, dict):
        return Report("invalid", raw=raw, problem=(f"{report_path} holds a {type(value).__name__}, not a JSON "
                                                   "object of question: answer"))
    return Report("ok", value=value, raw=raw)


def settle(submission: Submission, report: Report) -> None:
    """How a task without a report to grade ended, the same for every scaffold.

    A scaffold that ended the task itself (timeout, budget_exceeded, infra_error, skipped) keeps its
    outcome. Otherwise a missing report is no_report and an unreadable one invalid_report; the error
    gives the engine's reason first, then the scaffold's own account of how it ended, if any. A
    scaffold's own no_report or invalid_report is not taken: the report itself decides.
    """
    if submission.outcome in REPORT_OUTCOMES:
        submission.outcome = None
    if submission.outcome is not None or report.state == "ok":
        return
    submission.outcome = Outcome.NO_REPORT if report.state == "missing" else Outcome.INVALID_REPORT
    submission.error = "; ".join(part for part in (report.problem, submission.error) if part)


def _collect_results(sandbox: Any, results_dir: str, tmp: Path, details: dict[str, Any]) -> bytes | None:
    """Copy results/ out of the sandbox and pack it, so it can travel back from any node."""
    out = tmp / "produced"
    out.mkdir()
    try:
        sandbox.copy_out(results_dir, out, max_bytes=MAX_RESULTS_BYTES)  # streamed: stops at the cap
    except CopyTooLarge as exc:
        details["results_dropped"] = f"results/ is over the {MAX_RESULTS_BYTES} byte cap: {exc}"
        return None
    except Exception as exc:  # an agent may have deleted results/; the task still counts
        details["results_copy_error"] = f"{type(exc).__name__}: {exc}"
        return None
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and not p.is_symlink())
    if size > MAX_RESULTS_BYTES:
        details["results_dropped"] = f"results/ holds {size} bytes, over the {MAX_RESULTS_BYTES} byte cap"
        return None
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for entry in sorted(out.iterdir()):
            tar.add(entry, arcname=entry.name)
    return buffer.getvalue()

