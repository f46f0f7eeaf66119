"""Does tolerant-v1.1 send the right answers to review? Shares measured on a labelled fixture.

    python benchmarks/disputes.py [--fixture tests/fixtures/v11_disputes.json.gpg] [--show wrong|in_spirit]

The fixture (encrypted: it holds reference values) is a list of answers to the CORE-Bench v1.1
questions, each labelled `in_spirit` (a person would accept it: a unit, a percentage, rounding,
a decorated label, yes for True, a list as text) or `wrong` (a near miss: wrong sign, another
row, off by a factor, another label). It prints the share of in-spirit answers the grader
sends to review (goal >= 0.8) and of wrong answers it sends there (goal <= 0.15), per form too.
Answers the exact v1.1 rule already accepts are counted apart: they need no review.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from corebench_runner.capsules.corebench_import import decrypt  # noqa: E402
from corebench_runner.capsules.format import Question  # noqa: E402
from corebench_runner.capsules.plugins import load_plugin  # noqa: E402
from corebench_runner.records import VerdictStatus  # noqa: E402

DEFAULT_FIXTURE = ROOT / "tests" / "fixtures" / "v11_disputes.json.gpg"
GOALS = {"in_spirit": (">=", 0.8), "wrong": ("<=", 0.15)}


def measure(entries: list[dict]) -> dict:
    """Per label: answers, how many the rule accepts, how many go to review; per (label, form) too."""
    grader = load_plugin("graders", "tolerant-v1.1")
    totals: Counter = Counter()
    accepted: Counter = Counter()
    reviewed: Counter = Counter()
    forms: dict[tuple[str, str], Counter] = {}
    misses: list[tuple[dict, str, str]] = []
    for entry in entries:
        question = Question(entry["question"], tuple(entry["runs"]), capsule_id=entry["capsule_id"])
        verdict = grader.grade(question, entry["answer"])
        label = entry["label"]
        form = forms.setdefault((label, entry["form"]), Counter())
        if verdict.status is VerdictStatus.CORRECT:
            accepted[label] += 1
            form["accepted"] += 1
            continue
        totals[label] += 1
        form["graded"] += 1
        if verdict.status is VerdictStatus.DISPUTED:
            reviewed[label] += 1
            form["reviewed"] += 1
        misses.append((entry, verdict.status.value, verdict.reason))
    shares = {label: reviewed[label] / totals[label] if totals[label] else 0.0 for label in GOALS}
    return {"totals": totals, "accepted": accepted, "reviewed": reviewed, "shares": shares, "forms": forms,
            "graded": misses}


def goals_met(shares: dict[str, float]) -> bool:
    return shares["in_spirit"] >= GOALS["in_spirit"][1] and shares["wrong"] <= GOALS["wrong"][1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixture", type=Path, default=DEFAULT_FIXTURE)
    parser.add_argument("--show", choices=["wrong", "in_spirit"], help="List the answers of this label and verdicts.")
    args = parser.parse_args()
    entries = json.loads(decrypt(args.fixture))
    result = measure(entries)
    print(f"{len(entries)} labelled answers to CORE-Bench v1.1 questions, graded by tolerant-v1.1")
    for label in GOALS:
        sign, goal = GOALS[label]
        print(f"  {label:<9}  {result['totals'][label]:>4} rejected by the v1.1 rule, {result['reviewed'][label]:>4} "
              f"sent to review: share {result['shares'][label]:.3f} (goal {sign} {goal})"
              f"   [{result['accepted'][label]} accepted by the rule itself]")
    print("\n  per form (sent to review / rejected by the rule):")
    for (label, form), counts in sorted(result["forms"].items()):
        if counts["graded"]:
            print(f"    {label:<9}  {counts['reviewed']:>3}/{counts['graded']:<3}  {form}")
    if args.show:
        for entry, status, reason in result["graded"]:
            if entry["label"] == args.show:
                print(f"  {status:<9}  {json.dumps(entry['answer'])[:50]:<50}  {reason[:110]}")
    met = goals_met(result["shares"])
    print(f"\ngoals {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
