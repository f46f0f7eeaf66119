"""How often does `corebench triage` agree with people? Agreement with a labelled set of answers.

    ANTHROPIC_API_KEY=... python benchmarks/triage_agreement.py [--model anthropic:claude-haiku-4-5]
        [--fixture FILE.json.gpg] [--limit 60] [--max-cost 2]

The labelled set is benchmarks/fixtures/disputes_heldout.json.gpg when present, else
tests/fixtures/v11_disputes.json.gpg: answers to CORE-Bench v1.1 questions, each labelled
`in_spirit` (a careful person accepts it) or `wrong`. It is decrypted in memory only (it holds
reference values) and goes to the model only as the triage question itself: each answer the
exact v1.1 rule rejects is put to the model with its question, its reference runs and
tolerant-v1.1's reason, as `corebench triage` puts a failed answer (triage/prompt.py). It prints
the share of proposals that agree with the label, per label and per form, and what it spent.

Without ANTHROPIC_API_KEY or OPENAI_API_KEY it says in one line that it needs one and exits 0
(`--model scripted:FILE` plays a session instead, for trying the script with no key).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from corebench_runner.capsules.corebench_import import decrypt  # noqa: E402
from corebench_runner.capsules.format import Question  # noqa: E402
from corebench_runner.capsules.plugins import load_plugin  # noqa: E402
from corebench_runner.records import Usage, VerdictStatus  # noqa: E402
from corebench_runner.review.verdicts import AnswerKey, AnswerView  # noqa: E402
from corebench_runner.triage.material import FailedAnswer, TaskMaterial  # noqa: E402
from corebench_runner.triage.model_triage import MAX_REPLY_TOKENS, cap_reached  # noqa: E402
from corebench_runner.triage.prompt import PROPOSE_TOOL, SYSTEM_PROMPT, model_prompt, read_reply  # noqa: E402

HELDOUT = ROOT / "benchmarks" / "fixtures" / "disputes_heldout.json.gpg"
FALLBACK = ROOT / "tests" / "fixtures" / "v11_disputes.json.gpg"
LABELS = {"in_spirit": "right_in_spirit", "wrong": "wrong"}  # the fixture's label -> the proposal that agrees
KEYS = {"ANTHROPIC_API_KEY": "anthropic:claude-haiku-4-5", "OPENAI_API_KEY": "openai:gpt-5-mini"}
PER_CALL = 8  # answers put to the model in one call, as one failed task's answers are


def default_model() -> str | None:
    return next((model for key, model in KEYS.items() if os.environ.get(key)), None)


def rejected_entries(entries: list[dict], limit: int) -> list[tuple[dict, str, str]]:
    """(entry, tolerant-v1.1's status, its reason) for labelled answers the exact rule rejects, up to `limit`,
    taken alternately from each label so a small limit still measures both."""
    grader = load_plugin("graders", "tolerant-v1.1")
    by_label: dict[str, list[tuple[dict, str, str]]] = {label: [] for label in LABELS}
    for entry in entries:
        if entry.get("label") not in LABELS:
            continue
        question = Question(entry["question"], tuple(entry["runs"]), capsule_id=entry.get("capsule_id", ""))
        verdict = grader.grade(question, entry["answer"])
        if verdict.status is not VerdictStatus.CORRECT:
            by_label[entry["label"]].append((entry, verdict.status.value, verdict.reason))
    chosen: list[tuple[dict, str, str]] = []
    lists = list(by_label.values())
    while len(chosen) < limit and any(lists):
        for items in lists:
            if items and len(chosen) < limit:
                chosen.append(items.pop(0))
    return chosen


def material_for(batch: list[tuple[dict, str, str]], number: int) -> TaskMaterial:
    """The batch as one failed task's answers (no transcript, no files: the set has none)."""
    answers = []
    for position, (entry, status, reason) in enumerate(batch, start=1):
        view = AnswerView(answer_id=position, key=AnswerKey("agreement", entry.get("capsule_id", ""), 0,
                                                           entry["question"]),
                          model="", scaffold="", level="", grader="tolerant-v1.1", reported=entry["answer"],
                          reported_present=True, references=tuple(entry["runs"]), vision=False, auto_status=status,
                          auto_reason=reason, standing=status, transcript=None)
        answers.append(FailedAnswer(position, view, ["(no transcript in the labelled set)"]))
    return TaskMaterial(number, "agreement", f"labelled-batch-{number}", 0, "incorrect", answers, None, None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="Model spec (default: claude-haiku-4-5 or gpt-5-mini, by the key set).")
    parser.add_argument("--base-url", help="Send model requests to this API endpoint instead.")
    parser.add_argument("--fixture", type=Path, help="Labelled set (default: the held-out set, else the v1.1 one).")
    parser.add_argument("--limit", type=int, default=60, help="Answers to put to the model (default 60).")
    parser.add_argument("--max-cost", type=float, default=2.0, help="Dollars to spend at most (default 2).")
    args = parser.parse_args()
    model_spec = args.model or default_model()
    if model_spec is None or (not model_spec.startswith("scripted:") and default_model() is None):
        print("triage_agreement needs ANTHROPIC_API_KEY or OPENAI_API_KEY set (it asks a real model); nothing measured")
        return 0
    from corebench_runner.models.factory import make_model

    fixture = args.fixture or (HELDOUT if HELDOUT.exists() else FALLBACK)
    chosen = rejected_entries(json.loads(decrypt(fixture)), args.limit)
    client = make_model(model_spec, base_url=args.base_url)
    spent = Usage(cost_usd=0.0)
    agree: Counter = Counter()
    asked: Counter = Counter()
    forms: dict[tuple[str, str], Counter] = {}
    unanswered = 0
    try:
        for start in range(0, len(chosen), PER_CALL):
            if cap_reached(spent, args.max_cost):
                print(f"stopped at the --max-cost of ${args.max_cost:.2f}; {len(chosen) - start} answers not asked")
                break
            batch = chosen[start:start + PER_CALL]
            material = material_for(batch, start // PER_CALL + 1)
            response = client.complete(SYSTEM_PROMPT, [{"role": "user", "content": model_prompt(material)}],
                                       [PROPOSE_TOOL], max_tokens=MAX_REPLY_TOKENS)
            spent.add(response.usage)
            proposed = {p.answer_id: p.verdict for p in read_reply(response.content, material).proposals}
            for position, (entry, _, _) in enumerate(batch, start=1):
                label = entry["label"]
                form = forms.setdefault((label, str(entry.get("form", "?"))), Counter())
                if position not in proposed:
                    unanswered += 1
                    continue
                asked[label] += 1
                form["asked"] += 1
                if proposed[position] == LABELS[label]:
                    agree[label] += 1
                    form["agree"] += 1
    finally:
        client.close()
    total_asked, total_agree = sum(asked.values()), sum(agree.values())
    print(f"{fixture.name}: {total_asked} answers the exact v1.1 rule rejects, triaged by {model_spec}")
    for label in LABELS:
        share = agree[label] / asked[label] if asked[label] else 0.0
        print(f"  {label:<9}  {agree[label]:>4}/{asked[label]:<4} proposals agree with the label: {share:.3f}")
    print(f"  overall    {total_agree:>4}/{total_asked:<4} {total_agree / total_asked if total_asked else 0.0:.3f}"
          + (f"   ({unanswered} answers got no readable proposal)" if unanswered else ""))
    print("\n  per form (agree / asked):")
    for (label, form), counts in sorted(forms.items()):
        if counts["asked"]:
            print(f"    {label:<9}  {counts['agree']:>3}/{counts['asked']:<3}  {form}")
    cost = "unknown (no price for the model)" if spent.cost_usd is None else f"${spent.cost_usd:.4f}"
    print(f"\nspent {cost} in {spent.calls} call(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
