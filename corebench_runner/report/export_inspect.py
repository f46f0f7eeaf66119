"""One run as an Inspect eval log, written with inspect_ai's own log API (the optional `inspect` extra).

Each task (capsule x repeat) becomes one sample: id = capsule id, epoch = repeat + 1, the task
prompt as input, the transcript as chat messages (system, user, assistant turns with their tool
calls, tool results), the references as target, one score per question plus the task's verdict,
and its token usage and cost. Scorers are named by their question's words; each score starts as the
automatic verdict, and every verdict since (a person's review, an import, an accepted triage, a
monitor's flag, a set-aside) is a score edit with its author, time and reason, as Inspect's own
`edit_score` records them; the task's score is edited from its automatic to its verified outcome.
`inspect view` opens the file; `read_eval_log` reads it back.
Transcript events this module does not know are kept in the sample's metadata, never dropped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from corebench_runner.errors import UserError
from corebench_runner.models.names import display_name, public_config
from corebench_runner.report.efficiency import run_efficiency
from corebench_runner.report.export import verification_json
from corebench_runner.report.measures_export import calibration_fields, run_efficiency_fields, task_efficiency_fields
from corebench_runner.report.transcripts import load_events
from corebench_runner.store.calibration import run_calibration
from corebench_runner.store.database import Store
from corebench_runner.store.results import TaskDetail, run_summary, task_details
from corebench_runner.store.verdicts import reviews_of
from corebench_runner.store.verification import PERSON_SOURCES

INSTALL_HINT = "pip install 'corebench-runner[inspect]' (or pip install inspect_ai)"


def _inspect():
    try:
        import inspect_ai.log as log
        import inspect_ai.model as model
        import inspect_ai.scorer as scorer
        import inspect_ai.tool as tool
    except ImportError:
        raise UserError(f"export --format inspect needs inspect_ai, which is not installed: {INSTALL_HINT}") from None
    return log, model, scorer, tool


def write_inspect_log(store: Store, run_id: str, out: Path) -> Path:
    """Write the run to `out` (.eval or .json, as Inspect names them); returns the path written."""
    log_api, _, _, _ = _inspect()
    if out.suffix not in (".eval", ".json"):
        raise UserError(f"--out {out}: an Inspect log ends in .eval or .json; choose one of those")
    log = eval_log(store, run_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    log_api.write_eval_log(log, str(out))
    return out


def eval_log(store: Store, run_id: str):
    log_api, model_api, scorer_api, _ = _inspect()
    summary = run_summary(store, run_id)
    tasks = [t for t in task_details(store, summary.id) if t.status == "done"]
    efficiency = run_efficiency(store, summary.id)
    by_task = {t.task_id: task_efficiency_fields(t) for t in efficiency.tasks}
    samples = [_sample(store, summary, task, by_task.get(task.task_id)) for task in tasks]
    usage = _total_usage(model_api, summary.model, tasks)
    scored = [t for t in tasks if t.outcome != "skipped"]
    accuracy = sum(t.outcome == "correct" for t in scored) / len(scored) if scored else 0.0
    verified = summary.verified_accuracy or 0.0  # over the valid tasks: set-aside tasks left out
    spec = log_api.EvalSpec(
        run_id=summary.id, eval_id=summary.id, created=summary.created, task=f"corebench/{summary.level}",
        task_version=summary.scaffold_version or 0,
        task_attribs={"suite": summary.suite, "grader": summary.grader, "scaffold": summary.scaffold},
        solver=summary.scaffold, model=_model_name(summary.model),
        dataset=log_api.EvalDataset(name=summary.suite, samples=len({t.capsule_id for t in tasks}),
                                    sample_ids=sorted({t.capsule_id for t in tasks})),
        config=log_api.EvalConfig(epochs=max((t.repeat for t in tasks), default=0) + 1),
        metadata={"corebench_run_id": summary.id, "corebench_model": display_name(summary.model), "level": summary.level,
                  "run_config": public_config(summary.config), "verification": verification_json(summary),
                  "calibration": calibration_fields(run_calibration(store, summary.id)),
                  "efficiency": run_efficiency_fields(efficiency)},
    )
    results = log_api.EvalResults(
        total_samples=len(tasks), completed_samples=len(scored),
        scores=[log_api.EvalScore(name="task", scorer=summary.grader, scored_samples=len(scored), metrics={
            "accuracy": log_api.EvalMetric(name="accuracy", value=accuracy),
            "verified_accuracy": log_api.EvalMetric(name="verified_accuracy", value=verified),
            **({"reproduced_accuracy": log_api.EvalMetric(name="reproduced_accuracy",
                                                          value=summary.reproduced_accuracy)}
               if summary.reproduced_accuracy is not None else {})})])
    stats = log_api.EvalStats(started_at=summary.created, completed_at=summary.finished or summary.created,
                              model_usage={_model_name(summary.model): usage} if usage else {})
    status = "success" if summary.status == "finished" else ("cancelled" if summary.status == "interrupted" else
                                                             "started" if summary.status == "running" else "error")
    return log_api.EvalLog(status=status, eval=spec, results=results, stats=stats, samples=samples)


def _model_name(model: str) -> str:
    """Inspect names models provider/model; ours are provider:model, shown by display name (never a path)."""
    return display_name(model).replace(":", "/", 1)


LETTERS = {"correct": "C", "incorrect": "I", "disputed": "P"}  # Inspect's CORRECT, INCORRECT, PARTIAL
VERIFICATION_AUTHOR = "corebench verification"  # who edits a task's score: the people's verdicts, applied


def _sample(store: Store, summary: Any, task: TaskDetail, efficiency: dict[str, Any] | None):
    log_api, model_api, scorer_api, _ = _inspect()
    events, problem = load_events(store.artifacts_dir, task.transcript_path)
    messages, unmapped, prompt = _messages(model_api, events)
    scores: dict[str, Any] = {}
    question_edits: list[Any] = []
    for name, q in zip(question_scorer_names([q.question for q in task.questions]), task.questions):
        edits = _verdict_edits(scorer_api, store, q.answer_id)
        aside = _set_aside_edit(scorer_api, summary, task, q)
        edits += [aside] if aside is not None else []
        question_edits += [(q, edit) for edit in edits]
        scores[name] = _edited(scorer_api, edits, value=LETTERS.get(q.status, "N"),
                               answer=json.dumps(q.reported, ensure_ascii=False) if q.reported_present else None,
                               explanation=q.reason,
                               metadata={"question": q.question, "automatic": q.status, "verified": q.verified_status,
                                         "vision": q.vision, "set_aside": q.set_aside, "source": q.source,
                                         "source_evidence": q.source_evidence, "reproduced": q.reproduced,
                                         "confidence": q.confidence})
    scores["task"] = _task_score(scorer_api, task, question_edits)
    usage = model_api.ModelUsage(
        input_tokens=task.input_tokens, output_tokens=task.output_tokens,
        total_tokens=task.input_tokens + task.output_tokens + task.cache_creation_input_tokens
        + task.cache_read_input_tokens, input_tokens_cache_write=task.cache_creation_input_tokens,
        input_tokens_cache_read=task.cache_read_input_tokens, total_cost=task.cost_usd)
    target = [json.dumps(q.references) for q in task.questions] or [""]
    return log_api.EvalSample(
        id=task.capsule_id, epoch=task.repeat + 1, input=prompt or f"Reproduce capsule {task.capsule_id}.",
        target=target, messages=messages, scores=scores, model_usage={_model_name(summary.model): usage},
        total_time=task.seconds, working_time=task.seconds,
        metadata={"task_id": task.task_id, "outcome": task.outcome, "error": task.error, "steps": task.steps,
                  "cost_usd": task.cost_usd, "efficiency": efficiency, "transcript_problem": problem,
                  "unmapped_events": unmapped})


def question_scorer_names(questions: list[str]) -> list[str]:
    """One scorer name per question, read from its words (report_the_test_accuracy_of_the_model), unique in
    the sample: Inspect lists scores by name, and q1..q5 say nothing of what was asked."""
    names: list[str] = []
    for text in questions:
        words = re.findall(r"[a-z0-9]+", text.lower())
        base = "_".join(words)[:60].rstrip("_") or "question"
        name, n = base, 2
        while name in names or name == "task":
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


def _edited(scorer_api: Any, edits: list[Any], **original: Any):
    """A Score as Inspect's edit_score leaves it: the current values on top, the original and each edit in history."""
    score = scorer_api.Score(**original)
    if not edits:
        return score
    score.history = [scorer_api.ScoreEdit(**{**original, "metadata": original.get("metadata") or {}}), *edits]
    for edit in edits:
        for key in ("value", "answer", "explanation"):
            if getattr(edit, key) != "UNCHANGED":
                setattr(score, key, getattr(edit, key))
    return score


def _verdict_edits(scorer_api: Any, store: Store, answer_id: int) -> list[Any]:
    """Every verdict on the answer, oldest first, as a score edit with its author, time and reason; each says
    whether a person gave it (review, an import, an accepted triage) or a machine flagged it (a monitor)."""
    from inspect_ai.log import ProvenanceData

    edits = []
    for row in reviews_of(store, answer_id):
        by = "person" if row.source in PERSON_SOURCES else "machine"
        edits.append(scorer_api.ScoreEdit(
            value=LETTERS.get(row.new_status, "N"), explanation=row.reason or "UNCHANGED",
            provenance=ProvenanceData(author=row.reviewer, reason=row.reason or None, timestamp=row.created,
                                      metadata={"by": by, "source": row.source, "from": row.old_status,
                                                "to": row.new_status})))
    return edits


def _set_aside_edit(scorer_api: Any, summary: Any, task: TaskDetail, q: Any):
    """A question set aside (a broken reference, say) leaves the score: an edit to N with the decision's reason."""
    from inspect_ai.log import ProvenanceData

    if not q.set_aside:
        return None
    item = next((i for i in summary.set_asides if i["capsule_id"] == task.capsule_id
                 and (i["whole_task"] or i["question"] == q.question)), None)
    if item is None:
        return None
    return scorer_api.ScoreEdit(value="N", explanation=f"set aside: {item['reason']}", provenance=ProvenanceData(
        author=item["reviewer"], reason=item["reason"], timestamp=item["created"],
        metadata={"by": "person", "source": "set aside", "whole_task": bool(item["whole_task"])}))


def _task_score(scorer_api: Any, task: TaskDetail, question_edits: list[tuple[Any, Any]]):
    """The task's automatic outcome, edited to its verified one when people's verdicts or set-asides moved it."""
    from inspect_ai.log import ProvenanceData

    answers = {q.question: q.reported for q in task.questions if q.reported_present}
    automatic = "C" if task.outcome == "correct" else "I"
    verified = "N" if task.set_aside else "C" if task.verified_correct else "I"
    original = dict(value=automatic, answer=json.dumps(answers, ensure_ascii=False) if answers else None,
                    explanation=f"outcome {task.outcome}" + (f"; {task.error}" if task.error else ""),
                    metadata={"outcome": task.outcome, "verified_correct": task.verified_correct,
                              "set_aside": task.set_aside})
    if verified == automatic:
        return scorer_api.Score(**original)
    moved = [f"{q.question[:80]}: {edit.provenance.metadata.get('to', 'set aside')} by {edit.provenance.author}"
             + (f" ({edit.provenance.reason})" if edit.provenance.reason else "") for q, edit in question_edits]
    reason = "; ".join(moved) or "verified by the standing verdicts of its answers"
    standing = "set aside" if task.set_aside else "correct" if task.verified_correct else "not correct"
    edit = scorer_api.ScoreEdit(
        value=verified, explanation=f"verified: {standing}; {reason}",
        provenance=ProvenanceData(author=VERIFICATION_AUTHOR, reason=reason, metadata={"from": automatic}))
    return _edited(scorer_api, [edit], **original)


def _messages(model_api: Any, events: list[Any]) -> tuple[list[Any], list[Any], str | None]:
    """Chat messages from a transcript: core-agent events, agent CLIs' normalised events (message,
    tool_call) and Claude Code's raw stream-json (agent_event, in older transcripts)."""
    from inspect_ai.tool import ToolCall

    messages: list[Any] = []
    unmapped: list[Any] = []
    prompt = None
    for event in events:
        kind = event.get("type") if isinstance(event, dict) else None
        if kind == "prompt":
            if event.get("system"):
                messages.append(model_api.ChatMessageSystem(content=str(event["system"])))
            prompt = str(event.get("user") or "")
            messages.append(model_api.ChatMessageUser(content=prompt))
        elif kind == "model_call" and "content" in event:
            messages.append(_assistant(model_api, event.get("content")))
        elif kind == "model_call":
            continue  # a relay's metering record (Claude Code): its tokens are in the sample's usage already
        elif kind == "tool_call":
            call_id = str(event.get("id") or f"call-{len(messages)}")
            if call_id not in _called(messages):  # an agent CLI's call (agents/cli_agents/normalise.py): no model turn names it
                tool_input = event.get("input")
                messages.append(model_api.ChatMessageAssistant(content="", tool_calls=[ToolCall(
                    id=call_id, function=str(event.get("name") or ""),
                    arguments=tool_input if isinstance(tool_input, dict) else {"input": tool_input})]))
            messages.append(_tool_result(model_api, call_id, event.get("name"), event.get("output"),
                                         bool(event.get("is_error") or event.get("timed_out"))))
        elif kind == "message":  # what an agent CLI said
            role = event.get("role") or "assistant"
            cls = model_api.ChatMessageAssistant if role == "assistant" else model_api.ChatMessageUser
            messages.append(cls(content=str(event.get("text") or "")))
        elif kind == "reminder":  # the engine's follow-up prompt: a user turn
            messages.append(model_api.ChatMessageUser(content=str(event.get("text", ""))))
        elif kind in ("note", "command", "output"):  # the scaffold's own remarks, not turns: kept in metadata
            unmapped.append(event)
        elif kind == "agent_event" and isinstance(event.get("event"), dict):
            mapped = _claude_event(model_api, event["event"])
            if mapped is None:
                unmapped.append(event)
            else:
                messages.extend(mapped)
        elif kind == "end":
            continue
        else:
            unmapped.append(event)
    return messages, unmapped, prompt


def _called(messages: list[Any]) -> set[str]:
    return {call.id for m in messages if getattr(m, "role", "") == "assistant" for call in (m.tool_calls or [])}


def _assistant(model_api: Any, content: Any):
    from inspect_ai.tool import ToolCall

    texts, calls = [], []
    for block in content if isinstance(content, list) else [content]:
        if isinstance(block, dict) and block.get("type") == "text":
            texts.append(str(block.get("text", "")))
        elif isinstance(block, dict) and block.get("type") == "tool_use":
            arguments = block.get("input") if isinstance(block.get("input"), dict) else {"input": block.get("input")}
            calls.append(ToolCall(id=str(block.get("id", "")), function=str(block.get("name", "")), arguments=arguments))
        elif isinstance(block, str):
            texts.append(block)
    return model_api.ChatMessageAssistant(content="\n".join(texts), tool_calls=calls or None)


def _tool_result(model_api: Any, call_id: Any, name: Any, output: Any, failed: bool):
    from inspect_ai.tool import ToolCallError

    text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
    return model_api.ChatMessageTool(content=text, tool_call_id=str(call_id or ""), function=str(name or ""),
                                     error=ToolCallError(type="unknown", message=text[:500]) if failed else None)


def _claude_event(model_api: Any, inner: dict[str, Any]) -> list[Any] | None:
    """Claude Code's stream-json: assistant turns and the user turns that carry tool results."""
    message = inner.get("message") if isinstance(inner.get("message"), dict) else {}
    if inner.get("type") == "assistant":
        return [_assistant(model_api, message.get("content"))]
    if inner.get("type") == "user":
        out = []
        content = message.get("content")
        for block in content if isinstance(content, list) else [content]:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                result = block.get("content")
                if isinstance(result, list):
                    result = "\n".join(str(b.get("text", "")) for b in result if isinstance(b, dict))
                out.append(_tool_result(model_api, block.get("tool_use_id"), "", result, bool(block.get("is_error"))))
            elif isinstance(block, str):
                out.append(model_api.ChatMessageUser(content=block))
        return out
    return None


def _total_usage(model_api: Any, model: str, tasks: list[TaskDetail]):
    if not tasks:
        return None
    costs = [t.cost_usd for t in tasks]
    return model_api.ModelUsage(
        input_tokens=sum(t.input_tokens for t in tasks), output_tokens=sum(t.output_tokens for t in tasks),
        total_tokens=sum(t.input_tokens + t.output_tokens + t.cache_creation_input_tokens
                         + t.cache_read_input_tokens for t in tasks),
        input_tokens_cache_write=sum(t.cache_creation_input_tokens for t in tasks),
        input_tokens_cache_read=sum(t.cache_read_input_tokens for t in tasks),
        total_cost=None if any(c is None for c in costs) else round(sum(costs), 6))
