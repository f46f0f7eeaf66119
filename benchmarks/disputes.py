"""Do the tolerant graders send the right answers to review? Shares measured on two labelled sets.

    python benchmarks/disputes.py [--fixture PATH] [--heldout PATH] [--show wrong|in_spirit|exact]

Each set (gpg-encrypted: it holds reference values) is a JSON list of answers, each labelled
`in_spirit` (a person would accept it: a unit, a percentage, rounding, a decorated label, yes for
True, a list as text...), `wrong` (a near miss: wrong sign, another row, off by a factor, another
label, a negation) or `exact` (the reference as the rule wants it). An entry's `rule` ("v1" or
"v1.1"; v1.1 when absent) picks the grader: `tolerant` or `tolerant-v1.1`.

- The first set, tests/fixtures/v11_disputes.json.gpg, was written with the grader and tunes it.
- The held-out set, benchmarks/fixtures/disputes_heldout.json.gpg, was written apart and never used
  to tune the grader: it measures it. When it is absent, one line says so and the first set is
  reported alone.

For each set it prints the share of in-spirit answers the rule rejects that are sent to review
(goal >= 0.9), of wrong answers sent there (goal <= 0.10), and of exact answers still `correct`
(goal >= 0.95), and the same per form. In-spirit and wrong answers the rule itself accepts are
counted apart: they need no review. Exit status 0 when every measured set meets its goals.
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
from corebench_runner.errors import UserError  # noqa: E402
from corebench_runner.records import VerdictStatus  # noqa: E402

DEFAULT_FIXTURE = ROOT / "tests" / "fixtures" / "v11_disputes.json.gpg"
DEFAULT_HELDOUT = ROOT / "benchmarks" / "fixtures" / "disputes_heldout.json.gpg"
GOALS = {"in_spirit": (">=", 0.9), "wrong": ("<=", 0.10), "exact": (">=", 0.95)}
GRADERS = {"v1": "tolerant", "v1.1": "tolerant-v1.1"}
_WHAT = {"in_spirit": "rejected by the rule, {hit} sent to review",
         "wrong": "rejected by the rule, {hit} sent to review",
         "exact": "exact answers, {hit} still correct"}


def measure(entries: list[dict]) -> dict:
    """Per label: answers counted, how many hit the goal's event, the rule's own accepts; per (label, form) too.

    For in_spirit and wrong the counted answers are those the rule rejects and a hit is `disputed`;
    for exact every answer counts and a hit is `correct`.
    """
    graders = {rule: load_plugin("graders", name) for rule, name in GRADERS.items()}
    totals: Counter = Counter()
    accepted: Counter = Counter()
    reviewed: Counter = Counter()
    forms: dict[tuple[str, str], Counter] = {}
    graded: list[tuple[dict, str, str]] = []
    for entry in entries:
        question = Question(entry["question"], tuple(entry["runs"]), capsule_id=entry["capsule_id"])
        verdict = graders[entry.get("rule", "v1.1")].grade(question, entry["answer"])
        label = entry["label"]
        form = forms.setdefault((label, entry["form"]), Counter())
        if label == "exact":
            hit = verdict.status is VerdictStatus.CORRECT
        elif verdict.status is VerdictStatus.CORRECT:
            accepted[label] += 1
            form["accepted"] += 1
            continue
        else:
            hit = verdict.status is VerdictStatus.DISPUTED
        totals[label] += 1
        form["graded"] += 1
        reviewed[label] += hit
        form["reviewed"] += hit
        graded.append((entry, verdict.status.value, verdict.reason))
    shares = {label: reviewed[label] / totals[label] for label in GOALS if totals[label]}
    return {"totals": totals, "accepted": accepted, "reviewed": reviewed, "shares": shares, "forms": forms,
            "graded": graded}


def goals_met(shares: dict[str, float]) -> bool:
    """Every measured label meets its goal (a label the set does not have is not measured)."""
    for label, share in shares.items():
        sign, goal = GOALS[label]
        if (share < goal) if sign == ">=" else (share > goal):
            return False
    return True


def report(name: str, entries: list[dict], show: str | None) -> bool:
    result = measure(entries)
    rules = Counter(e.get("rule", "v1.1") for e in entries)
    by = ", ".join(f"{n} {rule} by {GRADERS[rule]}" for rule, n in sorted(rules.items()))
    print(f"{name}: {len(entries)} labelled answers ({by})")
    for label in GOALS:
        if not result["totals"][label] and not result["accepted"][label]:
            continue
        sign, goal = GOALS[label]
        what = _WHAT[label].format(hit=f"{result['reviewed'][label]:>4}")
        share = result["shares"].get(label)
        shown = f"{share:.3f}" if share is not None else "-"
        apart = f"   [{result['accepted'][label]} accepted by the rule itself]" if label != "exact" else ""
        print(f"  {label:<9}  {result['totals'][label]:>4} {what}: share {shown} (goal {sign} {goal:.2f}){apart}")
    print("  per form (hits / counted):")
    for (label, form), counts in sorted(result["forms"].items()):
        if counts["graded"]:
            print(f"    {label:<9}  {counts['reviewed']:>3}/{counts['graded']:<3}  {form}")
    if show:
        for entry, status, reason in result["graded"]:
            if entry["label"] == show:
                print(f"  {status:<9}  {json.dumps(entry['answer'])[:50]:<50}  {reason[:110]}")
    met = goals_met(result["shares"])
    print(f"  goals {'met' if met else 'NOT met'}\n")
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixture", type=Path, default=DEFAULT_FIXTURE, help="The first (tuning) set.")
    parser.add_argument("--heldout", type=Path, default=DEFAULT_HELDOUT, help="The held-out set.")
    parser.add_argument("--show", choices=sorted(GOALS), help="List the answers of this label and their verdicts.")
    args = parser.parse_args(argv)
    try:
        met = report(f"first set ({args.fixture.name}, tunes the grader)", _entries(args.fixture), args.show)
        if not args.heldout.exists():
            print(f"held-out set {args.heldout} is absent: only the first set is measured")
        else:
            held = _entries(args.heldout)
            met = report(f"held-out set ({args.heldout.name}, never used to tune)", held, args.show) and met
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"goals {'met' if met else 'NOT met'}")
    return 0 if met else 1


def _entries(path: Path) -> list[dict]:
    """A labelled set's entries; one line naming the file when it cannot be read."""
    if not path.exists():
        raise UserError(f"{path}: no such file (give a labelled set with --fixture or --heldout)")
    try:
        entries = json.loads(decrypt(path))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not a JSON list once decrypted ({exc.msg}, line {exc.lineno})") from None
    needed = {"capsule_id", "question", "runs", "answer", "label", "form"}
    for number, entry in enumerate(entries if isinstance(entries, list) else [None], 1):
        if not isinstance(entry, dict) or needed - entry.keys() or entry["label"] not in GOALS \
                or entry.get("rule", "v1.1") not in GRADERS:
            raise UserError(f"{path}: entry {number} needs {sorted(needed)}, a label among {sorted(GOALS)} and a "
                            f"rule among {sorted(GRADERS)} (or none, for v1.1)")
    return entries


if __name__ == "__main__":
    sys.exit(main())
