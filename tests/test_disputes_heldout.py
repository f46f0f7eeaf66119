"""The held-out dispute set (benchmarks/fixtures/disputes_heldout.json.gpg) is well formed and honest.

The set measures the tolerant graders, so nothing here runs a grader: it checks the fields and
labels, that no question of the first fixture is reused, that every `exact` answer is one the
official rule accepts, that no `in_spirit` or `wrong` answer is one the exact rule (restated here
from its documentation) already accepts, and that the generator rebuilds the committed plaintext.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import t

from corebench_runner.capsules.corebench_import import decrypt
from corebench_runner.grading import official_rule, official_rule_v11

REPO = Path(__file__).resolve().parents[1]
HELDOUT = REPO / "benchmarks" / "fixtures" / "disputes_heldout.json.gpg"
GENERATOR = REPO / "benchmarks" / "fixtures" / "make_disputes_heldout.py"
FIRST_FIXTURE = REPO / "tests" / "fixtures" / "v11_disputes.json.gpg"
FIELDS = {"capsule_id", "question", "runs", "answer", "label", "form", "rule", "note"}


@pytest.fixture(scope="module")
def entries() -> list[dict]:
    return json.loads(decrypt(HELDOUT))


def test_every_entry_has_its_fields_a_label_and_a_rule(entries):
    assert len(entries) >= 180
    for entry in entries:
        assert set(entry) == FIELDS, entry.get("question")
        assert entry["label"] in {"exact", "in_spirit", "wrong"}
        assert entry["rule"] in {"v1", "v1.1"}
        assert entry["runs"] and entry["form"] and entry["note"].strip()
    labels = Counter(entry["label"] for entry in entries)
    assert labels["exact"] >= 30 and labels["in_spirit"] >= 60 and labels["wrong"] >= 60
    assert sum(entry["rule"] == "v1" for entry in entries) >= len(entries) / 3


def test_no_question_of_the_first_fixture_is_reused(entries):
    first = {(e["capsule_id"], e["question"]) for e in json.loads(decrypt(FIRST_FIXTURE))}
    reused = {(e["capsule_id"], e["question"]) for e in entries} & first
    assert not reused


def test_every_exact_answer_is_accepted_by_the_official_rule(entries):
    for entry in (e for e in entries if e["label"] == "exact"):
        rule = official_rule if entry["rule"] == "v1" else official_rule_v11
        verdict = rule.check(entry["runs"], entry["answer"])
        assert verdict.correct, (entry["question"], entry["answer"], verdict.reason)


def _rule_accepts(runs: list, answer, rule: str) -> bool:
    """The exact rules as the v1.1 README words them (no aliases: these are v1 questions)."""
    value = answer
    try:
        value = float(value.replace("%", "") if "%" in value else value)
    except Exception:  # noqa: BLE001 - the rule keeps what float() refuses
        pass
    first = runs[0]
    if isinstance(first, list):
        return value == first
    if isinstance(first, str):
        return str(value).lower() == first.lower()
    if not isinstance(value, (int, float)):
        return False
    n, mean, sd = len(runs), float(np.mean(runs)), float(np.std(runs, ddof=1))
    half = float(t.ppf(0.975, n - 1)) * sd * math.sqrt(1 + 1 / n)
    lower, upper = mean - half, mean + half
    if rule == "v1":
        return lower <= value <= upper
    decimals = max(max(0, -Decimal(str(run)).normalize().as_tuple().exponent) for run in runs)
    lower, upper = lower - 0.5 * 10 ** -decimals, upper + 0.5 * 10 ** -decimals
    return lower <= value <= upper or bool(np.isclose(value, lower) or np.isclose(value, upper))


def test_no_in_spirit_or_wrong_answer_is_one_the_exact_rule_accepts(entries):
    accepted = [(e["question"], e["answer"], e["label"]) for e in entries
                if e["label"] != "exact" and _rule_accepts(e["runs"], e["answer"], e["rule"])]
    assert not accepted


def test_the_restated_rule_tells_a_plain_answer_from_a_decorated_one():
    assert _rule_accepts([0.5, 0.5, 0.5], "0.5%", "v1")  # '%' is dropped, never rescaled
    assert not _rule_accepts([0.5, 0.5, 0.5], "50%", "v1")
    assert _rule_accepts([50, 50, 50], "50%", "v1") and not _rule_accepts([50, 50, 50], "50 items", "v1")
    assert _rule_accepts([1.8, 1.8, 1.8], 1.75, "v1.1") and not _rule_accepts([1.8, 1.8, 1.8], 1.75, "v1")


def test_the_plaintext_is_never_committed():
    tracked = subprocess.run(["git", "ls-files", "benchmarks/fixtures"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
    assert "benchmarks/fixtures/disputes_heldout.json.gpg" in tracked
    assert not [name for name in tracked if name.endswith(".json")]


def _shared() -> Path | None:
    for candidate in (REPO.parent / "shared" / "corebench", REPO.parent.parent / "shared" / "corebench"):
        if (candidate / "core_train.json").is_file():
            return candidate
    return None


@pytest.mark.skipif(_shared() is None, reason="needs the shared CORE-Bench files (../shared/corebench)")
def test_the_generator_rebuilds_the_committed_set(entries):
    proc = subprocess.run([sys.executable, str(GENERATOR), "--shared", str(_shared()), "--plain"],
                          capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout) == entries
