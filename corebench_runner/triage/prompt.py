"""The triage question put to a model or an agent CLI, and the reading of its answer into proposals.

Both ways (`--model` and `--scaffold`) ask the same question and read the same JSON shape:
{"proposals": [{"answer": N, "verdict": "right_in_spirit"|"wrong", "category": ..., "reasoning": ...}]}
A model gives it as the input of the `propose` tool (or as JSON in its text); an agent CLI writes
it to a file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from corebench_runner.store.triage import CATEGORIES, VERDICTS, Proposal
from corebench_runner.triage.material import TaskMaterial, transcript_text, value_text

SYSTEM_PROMPT = """\
You triage failed answers of a benchmark in which an AI agent tried to reproduce a scientific paper's \
results from its code and data. An automatic grader marked each answer below incorrect or disputed. \
For each one decide, as a careful human reviewer would:
- verdict "right_in_spirit": the answer is what the question asked for and agrees with the reference runs \
(e.g. the same value rounded, reformatted, with a unit or label suffix, within run-to-run noise, read \
off a figure approximately), or the reference or question is wrong and the agent's answer is right;
- verdict "wrong": anything else (another value, another row, another sign, another label, nothing reported).
And one category for why it failed:
- "grading_error": the answer is right and the grader's rule rejected it;
- "benchmark_error": the reference runs or the question are wrong or ambiguous;
- "environment_barrier": the agent could not run the code (missing packages, data, hardware, time);
- "agent_error": the agent ran or read the wrong thing, or gave up;
- "shortcut": the answer was guessed, copied or written without running the code.
Give a short reasoning (two or three sentences) naming the evidence you used. Never guess an answer \
yourself. Answer every numbered answer exactly once."""

PROPOSE_TOOL: dict[str, Any] = {
    "name": "propose",
    "description": "Give your proposal for every numbered failed answer, once.",
    "input_schema": {
        "type": "object",
        "properties": {"proposals": {"type": "array", "items": {
            "type": "object",
            "properties": {"answer": {"type": "integer", "description": "the answer's number"},
                           "verdict": {"type": "string", "enum": list(VERDICTS)},
                           "category": {"type": "string", "enum": list(CATEGORIES)},
                           "reasoning": {"type": "string"}},
            "required": ["answer", "verdict", "category", "reasoning"]}}},
        "required": ["proposals"],
    },
}
MAX_REASONING_CHARS = 2_000


def answers_text(material: TaskMaterial) -> str:
    """The failed answers, numbered, with everything the reviewer's screen shows of each."""
    parts = []
    for failed in material.answers:
        view = failed.view
        references = ", ".join(value_text(v) for v in view.references) or "(none)"
        reported = value_text(view.reported) if view.reported_present else "(not reported)"
        parts.append("\n".join([
            f"## Answer {failed.number}",
            f"Question: {view.key.question}" + ("  [read from a figure]" if view.vision else ""),
            f"Reported: {reported}",
            f"Reference runs: {references}",
            f"Grader: {view.auto_status} ({view.grader}): {view.auto_reason or 'no reason given'}",
            "Evidence (commands whose output holds the reported value):",
            *failed.evidence,
        ]))
    return "\n\n".join(parts)


def produced_text(material: TaskMaterial) -> str:
    if not material.produced_listing:
        return "(the task kept no produced files)"
    lines = ["Files:", *("  " + name for name in material.produced_listing)]
    for name, text in material.produced_texts.items():
        lines += ["", f"--- {name} ---", text]
    return "\n".join(lines)


def model_prompt(material: TaskMaterial) -> str:
    """Everything for one task in one message: the answers, the agent's actions and its produced files."""
    return (f"Capsule {material.capsule_id}, repeat {material.repeat}; the task ended {material.outcome}.\n\n"
            f"# Failed answers\n\n{answers_text(material)}\n\n"
            f"# The agent's actions (transcript digest)\n\n{transcript_text(material)}\n\n"
            f"# Files the task produced (its results folder)\n\n{produced_text(material)}\n\n"
            "Call the `propose` tool once with a proposal for every numbered answer.")


@dataclass
class ReadProposals:
    proposals: list[Proposal]
    problems: list[str]  # what could not be read, for the user and the stored call


def read_reply(content: list[dict[str, Any]], material: TaskMaterial) -> ReadProposals:
    """Proposals from a model's reply: the `propose` tool's input, else a JSON object in its text."""
    for block in content:
        if block.get("type") == "tool_use" and block.get("name") == PROPOSE_TOOL["name"]:
            return read_proposals(block.get("input"), material)
    text = "\n".join(str(b.get("text", "")) for b in content if b.get("type") == "text")
    found = _json_object(text)
    if found is None:
        return ReadProposals([], ["the reply held neither a propose call nor a JSON object"])
    return read_proposals(found, material)


def _json_object(text: str) -> Any:
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if not match:
        return None
    try:
        return json.loads(match.group())
    except ValueError:
        return None


def read_proposals(data: Any, material: TaskMaterial) -> ReadProposals:
    """Check each entry: a known answer number, a known verdict and category; keep the first per answer."""
    items = data.get("proposals") if isinstance(data, dict) else data
    if not isinstance(items, list):
        return ReadProposals([], ['expected {"proposals": [...]}'])
    proposals: dict[int, Proposal] = {}
    problems = []
    for item in items:
        if not isinstance(item, dict):
            problems.append(f"not an object: {str(item)[:80]}")
            continue
        number, verdict, category = item.get("answer"), item.get("verdict"), item.get("category")
        failed = material.answer(number) if isinstance(number, int) and not isinstance(number, bool) else None
        if failed is None:
            problems.append(f"answer {number!r}: no such numbered answer")
        elif verdict not in VERDICTS:
            problems.append(f"answer {number}: verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
        elif category not in CATEGORIES:
            problems.append(f"answer {number}: category {category!r} is not one of {', '.join(CATEGORIES)}")
        elif failed.view.answer_id not in proposals:
            reasoning = str(item.get("reasoning") or "").strip()[:MAX_REASONING_CHARS]
            proposals[failed.view.answer_id] = Proposal(failed.view.answer_id, verdict, category, reasoning)
    missing = [a.number for a in material.answers if a.view.answer_id not in proposals]
    if missing:
        problems.append(f"no proposal for answer(s) {', '.join(map(str, missing))}")
    return ReadProposals(list(proposals.values()), problems)
