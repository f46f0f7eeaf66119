"""One primary failure reason per unsuccessful task, chosen by rules in funnel order.

The first rule that holds wins: an ending the engine decided (infrastructure, timeout, budget),
then the earliest broken stage (a dependency that would not install, the capsule's code
failing), then what the report lacked (none, unreadable, a wrong value, a value off only by
rounding). Each reason carries evidence: the command and an excerpt of its output.
"""

from __future__ import annotations

import json
import re
from typing import Any

from corebench_runner.diagnostics.actions import Action
from corebench_runner.diagnostics.sightings import value_in
from corebench_runner.diagnostics.stages import StageEvidence

EXCERPT_CHARS = 600
_EXCEPTION_LINE = re.compile(r"^\s*(?:[\w.]+(?:Error|Exception|Interrupt|Exit)\b.*|Error(?: in .*)?:.*|"
                             r"Execution halted|Traceback .*|Killed|Segmentation fault.*)$", re.M)
_ROUNDING_WORDS = re.compile(r"round|decimal|digits|precision|significant", re.I)

REASON_CODES = ("infra_error", "timeout", "budget_exceeded", "dependency_install_failed", "code_error",
                "no_report", "invalid_report", "wrong_value", "disputed_rounding", "disputed", "unexplained")


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The end of an output (where errors are), cut to a readable size."""
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


def exception_line(output: str) -> str:
    """The line that names the error: Python's last `XxxError: ...`, R's `Error in ...`, else the last line."""
    lines = [m.group(0).strip() for m in _EXCEPTION_LINE.finditer(output)]
    specific = [line for line in lines if not line.startswith(("Traceback", "Execution halted"))]
    if specific:
        return specific[-1]
    rest = [line.strip() for line in output.splitlines() if line.strip() and not line.startswith("exit code:")]
    return rest[-1] if rest else "(no output)"


def _evidence(action: Action | None) -> dict[str, str]:
    if action is None:
        return {"command": "", "output_excerpt": ""}
    return {"command": action.describe, "output_excerpt": excerpt(action.output)}


def _reason(code: str, message: str, action: Action | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "evidence": _evidence(action)}


def _last_command(actions: list[Action]) -> Action | None:
    commands = [a for a in actions if a.kind == "command"]
    timed = [a for a in commands if a.timed_out]
    return (timed or commands or [None])[-1]


def primary_reason(outcome: str, error: str | None, actions: list[Action], found: StageEvidence,
                   verdicts: dict[str, Any], answers: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """None for a correct or skipped task; else {code, message, evidence: {command, output_excerpt}}."""
    if outcome in ("correct", "skipped"):
        return None
    first_error_line = (error or "").strip().splitlines()[0] if (error or "").strip() else ""
    if outcome == "infra_error":
        return _reason("infra_error", f"infrastructure failure, not the agent's: {first_error_line or 'see the log'}")
    if outcome == "timeout":
        return _reason("timeout", first_error_line or "the task ran past its time limit", _last_command(actions))
    if outcome == "budget_exceeded":
        return _reason("budget_exceeded", first_error_line or "the task spent its step or dollar budget",
                       _last_command(actions))
    if found.install_failure is not None:
        action, package = found.install_failure
        what = f"package {package}" if package else "a package"
        return _reason("dependency_install_failed", f"dependency install failed: {what}", action)
    if found.last_code_failure is not None:
        action = found.last_code_failure
        return _reason("code_error", f"the capsule's code failed: {exception_line(action.output)}", action)
    if outcome == "no_report":
        return _reason("no_report", first_error_line or "the agent wrote no report.json", _last_command(actions))
    if outcome == "invalid_report":
        return _reason("invalid_report", first_error_line or "report.json could not be read", None)
    return _answer_reason(verdicts, actions, answers or {})


def _status(verdict: Any) -> str:
    status = getattr(verdict, "status", verdict)
    return str(getattr(status, "value", status))


def _source_of(value: Any, actions: list[Action]) -> Action | None:
    """The last command or read whose output shows this value: where the agent most likely took it from."""
    shown = [a for a in actions if a.kind in ("command", "read") and a.output and value_in(value, a.output)]
    return shown[-1] if shown else None


def _answer_reason(verdicts: dict[str, Any], actions: list[Action], answers: dict[str, Any]) -> dict[str, Any]:
    wrong = [(q, v) for q, v in verdicts.items() if _status(v) == "incorrect"]
    disputed = [(q, v) for q, v in verdicts.items() if _status(v) == "disputed"]
    if wrong:
        question, verdict = wrong[0]
        more = f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""
        return _reason("wrong_value", f"wrong value for {json.dumps(question)[:120]}{more}: "
                                      f"{getattr(verdict, 'reason', '')}"[:400],
                       _source_of(answers.get(question), actions) or _last_command(actions))
    if disputed:
        question, verdict = disputed[0]
        reason = getattr(verdict, "reason", "")
        code = "disputed_rounding" if _ROUNDING_WORDS.search(reason) else "disputed"
        return _reason(code, f"disputed {json.dumps(question)[:120]}: {reason}"[:400], None)
    return _reason("unexplained", "no rule explains this outcome; read the transcript", _last_command(actions))
