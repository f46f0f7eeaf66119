"""Optional: a model-written summary of why a task failed (`corebench explain RUN_ID --model ...`).

Off by default: the rule-based reason is always there; this asks a model for two or three
sentences on top, from the rule's finding and a digest of the agent's commands. The summary is
kept in the task's diagnosis; its tokens and dollars go to the usage table like any model call
(but not into the task's own cost, which stays the agent's, so runs remain comparable).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from corebench_runner.diagnostics import DETAILS_KEY
from corebench_runner.diagnostics.actions import read_actions
from corebench_runner.diagnostics.summary import diagnosis_of
from corebench_runner.errors import UserError
from corebench_runner.store.database import Store, get_run
from corebench_runner.store.diagnoses import record_explanation
from corebench_runner.store.runs import finished_tasks

SYSTEM_PROMPT = ("You review a failed attempt by an AI agent to reproduce a scientific paper's results from its "
                 "code and data. In at most three plain sentences, say what went wrong and what the agent should "
                 "have done instead. Do not guess at answers.")
DIGEST_CHARS = 12_000
MAX_SUMMARY_TOKENS = 400


@dataclass(frozen=True)
class Explained:
    task_id: int
    capsule_id: str
    summary: str


def transcript_digest(transcript: list[dict[str, Any]], limit: int = DIGEST_CHARS) -> str:
    """The agent's actions as `$ command` lines with the end of their output, newest kept when cut."""
    parts = []
    for action in read_actions(transcript):
        line = f"$ {action.describe}" + (f"   [exit {action.exit_code}]" if action.exit_code not in (0, None) else "")
        output = action.output.strip()
        parts.append(line + ("\n" + output[-800:] if output else ""))
    text = "\n".join(parts) or "(no actions recorded)"
    return text if len(text) <= limit else "[earlier actions cut]\n" + text[-limit:]


def _prompt(capsule_id: str, outcome: str, reason: dict[str, Any], digest: str) -> str:
    return (f"Capsule: {capsule_id}\nOutcome: {outcome}\nRule-based finding: [{reason['code']}] {reason['message']}\n"
            f"\nThe agent's actions:\n{digest}\n")


def explain_run(store: Store, run_id: str, model: Any, redo: bool = False) -> list[Explained]:
    """Summarise every failed task of a run that has no summary yet (all of them with redo)."""
    rid = get_run(store, run_id)["id"]
    done = []
    for task in finished_tasks(store, rid):
        diagnosis = diagnosis_of(task["details_json"])
        if diagnosis is None or diagnosis.primary_reason is None or (diagnosis.summary and not redo):
            continue
        transcript = _load_transcript(store, task["transcript_path"])
        prompt = _prompt(task["capsule_id"], task["outcome"], diagnosis.primary_reason, transcript_digest(transcript))
        response = model.complete(SYSTEM_PROMPT, [{"role": "user", "content": prompt}], None,
                                  max_tokens=MAX_SUMMARY_TOKENS)
        text = " ".join(b.get("text", "") for b in response.content if b.get("type") == "text").strip()
        diagnosis.summary = {"text": text or "(the model gave no text)", "model": model.name}
        _save(store, task["id"], diagnosis, model.name, response.usage)
        done.append(Explained(task["id"], task["capsule_id"], diagnosis.summary["text"]))
    return done


def _load_transcript(store: Store, relative: str | None) -> list[dict[str, Any]]:
    if not relative:
        return []
    try:
        data = json.loads((store.artifacts_dir / relative).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return []
    return data if isinstance(data, list) else []


def _save(store: Store, task_id: int, diagnosis: Any, model_name: str, usage: Any) -> None:
    record_explanation(store, task_id, DETAILS_KEY, diagnosis.to_json(), model_name, usage)


def require_failed_tasks(store: Store, run_id: str) -> None:
    """One clear line when a run has nothing to explain (old runs were recorded without diagnoses)."""
    rid = get_run(store, run_id)["id"]
    rows = finished_tasks(store, rid)
    if not any((d := diagnosis_of(r["details_json"])) and d.primary_reason for r in rows):
        raise UserError(f"run {rid}: no failed task with a diagnosis to explain (every task passed, or the run "
                        "was recorded before diagnostics existed)")
