"""`corebench run --verify`: re-run the agent's reproduce.sh in a fresh sandbox and check its answers.

Worker side, like the task itself (so it works under Ray): after the task, the recipe the agent
left at /workspace/reproduce.sh is run in a new sandbox opened from the same starting workspace
and level, with the task's own SandboxSpec (same image, network, limits and user); no model, no
key, no tokens. What it printed and the text files it wrote are matched against each reported
value (diagnostics/reproduced.py), here, so only the verdicts and an output tail travel back to
the driver, which records them; the worker never writes the store.

`verify_run` (`corebench verify RUN`) does the same later, on the driver, for a finished run: from
each task's kept report.json and reproduce.sh (artifacts), in the sandbox its task had.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
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
from corebench_runner.store.database import Store, get_run, record_rerun
from corebench_runner.store.runs import finished_tasks

RERUN_KEY = "rerun"  # in an Attempt's details, then the task's: the re-run's outcome and per-answer verdicts
START_MARK = "/tmp/.corebench-rerun-started"
MAX_WRITTEN_BYTES = 4_000_000  # text the re-run wrote that is read back to match answers against
MAX_RECIPE_BYTES = 1_000_000  # a shell script; anything larger is not kept, nor re-run
TAIL_CHARS = 4000  # of the re-run's output, kept as an artifact
# Text files the re-run created or changed (not the recipe, not the agent's report), each with a header.
_WRITTEN_TEXT = (
    "find . -type f -newer {mark} ! -name {recipe} ! -name {report} -size -5M -print0 | "
    "while IFS= read -r -d '' f; do if grep -Iq . \"$f\"; then printf '\\n==> %s <==\\n' \"$f\"; cat \"$f\"; fi; "
    "done | head -c {cap}")


def recipe_in(sandbox: Any, workspace_dir: str) -> bytes | None:
    """The recipe the agent left in its sandbox, or None (none, or too large to be a recipe)."""
    try:
        recipe = sandbox.read_file(f"{workspace_dir}/{RECIPE_NAME}")
    except (OSError, RecursionError):
        return None
    return recipe if len(recipe) <= MAX_RECIPE_BYTES else None


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


# ----------------------------------------------------------------- `corebench verify RUN`, on the driver

@dataclass
class TaskRerun:
    """What `corebench verify RUN` did for one task."""

    capsule_id: str
    repeat: int
    state: str  # ran | failed | no_recipe
    reproduced: dict[str, str]
    seconds: float


def verify_run(store: Store, run_id: str, note: Callable[[str], None] | None = None) -> list[TaskRerun]:
    """Re-run the kept reproduce.sh of every finished task of a run that left a report, as `run --verify`
    does after each task, and record each answer's `reproduced` (and the suspect queue) in the store."""
    from corebench_runner.capsules.suite import Suite
    from corebench_runner.diagnostics.stored import queue_suspect_in
    from corebench_runner.running.sandboxing import sandbox_spec
    from corebench_runner.sandbox.labels import run_labels
    from corebench_runner.sandbox.providers import provider_for

    run = get_run(store, run_id)
    config = json.loads(run["config_json"] or "{}")
    options = config.get("options") or {}
    kind = str(options.get("sandbox") or "docker")
    provider_for(kind).preflight()
    suite = Suite(Path(config.get("suite_root") or "."))
    done = []
    for task in (t for t in finished_tasks(store, run["id"]) if t["transcript_path"] is not None):
        folder = store.artifacts_dir / Path(task["transcript_path"]).parent
        report = _kept_report(folder / levels.REPORT_NAME)
        if not report:
            continue  # nothing reported: nothing to check
        recipe = (folder / RECIPE_NAME).read_bytes() if (folder / RECIPE_NAME).is_file() else None
        capsule = suite.load(task["capsule_id"])
        details = json.loads(task["details_json"] or "{}")
        wall = float(options.get("timeout") or capsule.resources.time_limit)
        spec = sandbox_spec(capsule, str(details.get("image") or ""), run_labels(run["id"], task["id"]),
                            gpu=bool(details.get("gpu")), wall_seconds=wall)
        if note:
            note(f"{task['capsule_id']} #{task['repeat']}: re-running {RECIPE_NAME}" if recipe else
                 f"{task['capsule_id']} #{task['repeat']}: no {RECIPE_NAME} was kept")
        with tempfile.TemporaryDirectory(prefix="corebench-verify-") as scratch:
            found = verify(kind, spec, capsule, run["level"], recipe, report, wall, Path(scratch))
        (folder / "rerun.json").write_text(json.dumps(found, indent=1, ensure_ascii=False), encoding="utf-8")
        record_rerun(store, task["id"], found["answers"], found["seconds"] if recipe else None,
                     {k: v for k, v in found.items() if k != "output_tail"},
                     also=lambda conn, task_id: queue_suspect_in(conn, task_id))
        done.append(TaskRerun(task["capsule_id"], task["repeat"], found["state"], found["answers"],
                              found["seconds"]))
    return done


def _kept_report(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
