"""What a task leaves in its sandbox: report.json (authoritative for the answers) and results/.

Both are read at once, two round trips to the engine side by side, since they stand between the
agent's last step and the task's score.
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
from pathlib import Path
from typing import Any

from corebench_runner.records import TaskSpec
from corebench_runner.running import tracing
from corebench_runner.sandbox.base import CopyTooLarge

# Produced files larger than this stay in the container; the task notes that they were dropped.
MAX_RESULTS_BYTES = 200 * 1024 * 1024


def read_outputs(sandbox: Any, task: TaskSpec, attempt: Any, tmp: Path) -> None:
    """report.json and results/, both at once: two round trips to the engine, not one after the other."""
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
            _read_report(sandbox, task.report_path, attempt)
    finally:
        copier.join()
    if "error" in copied:
        raise copied["error"]
    attempt.results_tar = copied["tar"]


def _read_report(sandbox: Any, report_path: str, attempt: Any) -> None:
    """The agent's report.json is authoritative: missing -> no_report; not a JSON object -> invalid."""
    try:
        data = sandbox.read_file(report_path)
    except (OSError, RecursionError):  # none, a folder, or a link to nowhere (or to itself)
        attempt.report_state = "missing"
        return
    raw = data.decode("utf-8", errors="replace")
    attempt.report_raw = raw
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        attempt.report_state, attempt.report_problem = "invalid", f"report.json is not valid JSON ({exc})"
        return
    if not isinstance(value, dict):
        attempt.report_state = "invalid"
        attempt.report_problem = f"report.json holds a {type(value).__name__}, not a JSON object of question: answer"
        return
    attempt.report_state, attempt.report = "ok", value


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

