"""The oracle scaffold: reproduce a capsule by its own recipe, with no model.

It runs the capsule's `reproduce` command (capsule.toml) in /workspace inside the
capsule's own environment image, then reads each answer from the outputs by the
question's `extract` rule, and writes report.json like any agent would. A capsule whose
oracle answers grade correct is reproducible end to end; the demo uses it when no API
key is set. When the command fails or an answer cannot be extracted it writes no report and
says why; the engine, finding no report, ends the task no_report as for any agent.
"""

from __future__ import annotations

import json
import time
from typing import Any

from corebench_runner.agents.contract import ScaffoldBase
from corebench_runner.capsules.extract import ExtractionError, extract_answers
from corebench_runner.models.base import ModelClient
from corebench_runner.records import Limits, Outcome, Submission, TaskSpec
from corebench_runner.sandbox.base import Sandbox

TAIL_CHARS = 2000


def _tail(text: str, chars: int = TAIL_CHARS) -> str:
    return text if len(text) <= chars else "..." + text[-chars:]


class OracleScaffold(ScaffoldBase):
    name = "oracle"
    version = "1"
    needs_model = False
    always_uses_capsule_environment = True

    def run(self, task: TaskSpec, sandbox: Sandbox, model: ModelClient | None, limits: Limits) -> Submission:
        started = time.monotonic()
        transcript: list[dict[str, Any]] = []
        submission = Submission(answers=None, transcript=transcript)
        spec = task.oracle
        if spec is None or not spec.reproduce.strip():
            submission.outcome = Outcome.SKIPPED
            submission.error = (f"capsule {task.capsule_id} has no `reproduce` command in its capsule.toml; "
                                "add one (and an `extract` rule per question) to run it with the oracle")
            return submission

        result = sandbox.exec(spec.reproduce, timeout=limits.wall_seconds, workdir=task.workspace_dir)
        transcript.append({
            "type": "command", "command": spec.reproduce, "workdir": task.workspace_dir,
            "exit_code": result.exit_code, "timed_out": result.timed_out, "seconds": round(result.seconds, 3),
            "stdout_tail": _tail(result.stdout), "stderr_tail": _tail(result.stderr),
        })
        submission.steps = 1
        if result.timed_out:
            submission.outcome = Outcome.TIMEOUT
            submission.error = f"the reproduce command ran past {limits.wall_seconds:g}s and was stopped"
        elif result.exit_code != 0:
            submission.error = (f"the reproduce command `{spec.reproduce}` exited with code {result.exit_code}; "
                                f"stderr ends with:\n{_tail(result.stderr or result.stdout)}")
        else:
            self._extract(task, sandbox, submission)
        submission.seconds = time.monotonic() - started
        return submission

    def _extract(self, task: TaskSpec, sandbox: Sandbox, submission: Submission) -> None:
        spec = task.oracle
        assert spec is not None
        workspace = task.workspace_dir.rstrip("/")
        try:
            answers = extract_answers(spec, lambda rel: sandbox.read_file(f"{workspace}/{rel.lstrip('/')}"))
        except ExtractionError as exc:
            submission.error = f"answer extraction failed: {exc}"
            submission.transcript.append({"type": "extract", "error": str(exc)})
            return
        without_rule = [q for q in task.questions if q not in spec.extract]
        if without_rule:
            submission.error = ("no `extract` rule in capsule.toml for: "
                                + "; ".join(repr(q) for q in without_rule))
        sandbox.write_file(task.report_path, json.dumps(answers, indent=2, ensure_ascii=False))
        submission.transcript.append({"type": "extract", "answers": answers, "report_path": task.report_path})
        submission.answers = answers


SCAFFOLD = OracleScaffold()
