"""`corebench run --verify`: re-run the agent's reproduce.sh in a fresh sandbox and check its answers.

Worker side, like the task itself (so it works under Ray): after the task, the recipe the agent
left at /workspace/reproduce.sh is run in a new sandbox opened from the same starting workspace
and level, with the task's own SandboxSpec (same image, network, limits and user); no model, no
key, no tokens. What it printed and the text files it wrote are matched against each reported
value (diagnostics/reproduced.py), here, so only the verdicts and an output tail travel back to
the driver, which records them; the worker never writes the store.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from corebench_runner.capsules import levels
from corebench_runner.capsules.levels import RECIPE_NAME
from corebench_runner.deadline import Deadline
from corebench_runner.diagnostics.reproduced import FAILED, MISSING, RAN, Rerun, reproduced_answers
from corebench_runner.records import ExecResult
from corebench_runner.running.sandboxing import WATCHDOG_GRACE_SECONDS, open_for
from corebench_runner.sandbox.base import SandboxSpec
from corebench_runner.sandbox.watchdog import Watchdog

RERUN_KEY = "rerun"  # in an Attempt's details, then the task's: the re-run's outcome and per-answer verdicts
START_MARK = "/tmp/.corebench-rerun-started"
MAX_WRITTEN_BYTES = 4_000_000  # text the re-run wrote that is read back to match answers against
TAIL_CHARS = 4000  # of the re-run's output, kept as an artifact
# Text files the re-run created or changed (not the recipe, not the agent's report), each with a header.
_WRITTEN_TEXT = (
    "find . -type f -newer {mark} ! -name {recipe} ! -name {report} -size -5M -print0 | "
    "while IFS= read -r -d '' f; do if grep -Iq . \"$f\"; then printf '\\n==> %s <==\\n' \"$f\"; cat \"$f\"; fi; "
    "done | head -c {cap}")


def recipe_in(sandbox: Any, workspace_dir: str) -> bytes | None:
    """The recipe the agent left in its sandbox, or None."""
    try:
        return sandbox.read_file(f"{workspace_dir}/{RECIPE_NAME}")
    except (OSError, RecursionError):
        return None


def verify(kind: str, spec: SandboxSpec, capsule: Any, level: str, recipe: bytes | None,
           answers: dict[str, Any], time_limit: float, scratch: Path) -> dict[str, Any]:
    """Re-run the recipe in a fresh sandbox; the re-run's outcome with a verdict per answer (plain data)."""
    if recipe is None:
        rerun, tail = Rerun(MISSING), f"no {RECIPE_NAME} was left in the workspace"
    else:
        try:
            rerun, tail = _rerun(kind, spec, capsule, level, recipe, time_limit, scratch)
        except Exception as exc:  # the engine failed the re-run: the task's own work still counts
            rerun, tail = Rerun(FAILED), f"[corebench: the re-run could not run: {type(exc).__name__}: {exc}]"
    found = asdict(rerun)
    found.pop("text")
    found.update(answers=reproduced_answers(answers, rerun), output_tail=tail)
    return found


def _rerun(kind: str, spec: SandboxSpec, capsule: Any, level: str, recipe: bytes, time_limit: float,
           scratch: Path) -> tuple[Rerun, str]:
    folder = scratch / "rerun"
    try:
        workspace = levels.prepare(capsule, level, folder / "workspace")  # the task's starting workspace
        (workspace.path / RECIPE_NAME).write_bytes(recipe)
        fresh = replace(spec, watchdog_seconds=time_limit + WATCHDOG_GRACE_SECONDS)  # its own time limit
        deadline = Deadline.after(time_limit)
        started = time.monotonic()
        sandbox, task = open_for(kind, fresh, workspace, deadline)
        with sandbox, Watchdog(sandbox, fresh.watchdog_seconds, deadline) as watchdog:
            try:
                sandbox.exec(["touch", START_MARK])
                result = sandbox.exec(f"bash ./{RECIPE_NAME}", timeout=time_limit, workdir=task.workspace_dir)
                written = sandbox.exec(_WRITTEN_TEXT.format(mark=START_MARK, recipe=RECIPE_NAME,
                                                            report=levels.REPORT_NAME, cap=MAX_WRITTEN_BYTES),
                                       timeout=120, workdir=task.workspace_dir)
            except Exception:
                if not watchdog.fired:
                    raise
                result = ExecResult(exit_code=-1, stdout="", stderr=f"[corebench: stopped by the engine after "
                                    f"{fresh.watchdog_seconds:g}s]\n", timed_out=True)
                written = ExecResult(exit_code=-1, stdout="", stderr="")
        seconds = round(time.monotonic() - started, 3)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    output = (result.stdout or "") + (result.stderr or "")
    ok = result.exit_code == 0 and not result.timed_out
    tail = output if len(output) <= TAIL_CHARS else "..." + output[-TAIL_CHARS:]
    return Rerun(RAN if ok else FAILED, result.exit_code, result.timed_out, seconds,
                 output + "\n" + (written.stdout or "")), tail
