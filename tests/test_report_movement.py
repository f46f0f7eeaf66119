"""A run page says how its number moved from automatic to verified, each line linked to its verdicts and
reasons; it carries coverage and set-asides; the HAL and Inspect exports carry both numbers and the set-asides.

A real store (tests/support_store.py), verdicts and set-asides given through the real CLI, the site built by
`corebench report`, pages read with BeautifulSoup.
"""

from __future__ import annotations

import json

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.report.data import slug
from corebench_runner.store.database import open_store
from support_store import ACCURACY_Q, BEST_Q, LOSS_Q, QA, SampleTask, add_run

MAINLINE = "core-bench 1.1 mainline"
RUN = "run-moves"


def corebench(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def moved(tmp_path):
    """Automatic 2 of 5: a rounded answer settled correct, a correct answer rejected, a broken task set aside."""
    store = open_store(tmp_path / "results.sqlite")
    add_run(store, [
        SampleTask("fine", [QA(LOSS_Q, 0.12, [0.12] * 3, "correct", "inside")]),
        SampleTask("rounded", [QA(ACCURACY_Q, 0.93, [0.9312] * 3, "disputed", "rounded")]),
        SampleTask("lucky", [QA(LOSS_Q, 0.05, [0.05] * 3, "correct", "inside")]),
        SampleTask("broken", [QA(ACCURACY_Q, 0.5, [0.9] * 3, "incorrect", "outside")]),
        SampleTask("wrong", [QA(BEST_Q, "sgd", ["adam"] * 3, "incorrect", "another label")]),
    ], run_id=RUN, benchmark=MAINLINE)
    ids = {row[0]: row[1] for row in store.query(
        "SELECT tasks.capsule_id, answers.id FROM answers JOIN tasks ON tasks.id = answers.task_id")}
    store.close()
    path = str(tmp_path / "results.sqlite")
    CliRunner().invoke(main, ["review", "--store", path, "--reviewer", "alice", "--answer", str(ids["rounded"])],
                       input="c\n0.9312 rounded to 2 decimals\n")
    CliRunner().invoke(main, ["review", "--store", path, "--reviewer", "bob", "--answer", str(ids["lucky"])],
                       input="i\nthe loss was copied from the paper, not computed\n")
    corebench("review", "invalidate", "broken", "--store", path, "--reason", "reference 0.9 is a typo",
              "--reviewer", "carol")
    return tmp_path, path, ids


def test_run_page_explains_the_move_from_automatic_to_verified(moved):
    tmp_path, path, ids = moved
    corebench("report", "--store", path, "--out", str(tmp_path / "site"))
    page = BeautifulSoup((tmp_path / "site" / "runs" / f"{slug(RUN)}.html").read_text(encoding="utf-8"),
                         "html.parser")
    lines = {row["id"]: row for row in page.select("#movement-lines tr")}
    text = {key: " ".join(row.get_text(" ").split()) for key, row in lines.items()}
    assert "2 of 5 tasks" in text["moved-automatic"]
    assert "+1" in text["moved-settled"] and "rounded" in text["moved-settled"]
    assert "by alice: 0.9312 rounded to 2 decimals" in text["moved-settled"]
    assert "−1" in text["moved-rejected"] and "by bob: the loss was copied from the paper" in text["moved-rejected"]
    assert "−0 correct, 1 task(s) out of the count" in text["moved-set_aside"]
    assert "set aside by carol: reference 0.9 is a typo" in text["moved-set_aside"]
    # The lines add up: 2 + 1 - 1 - 0 = 2 of 4 valid tasks; the wrong answer is not reviewed: provisional.
    assert "2 of 4 valid tasks (provisional)" in text["moved-verified"]

    # Every line links to the answer (its standing verdict and reason) or the set-aside row it names.
    for link in page.select("#movement-lines a"):
        target = link["href"].lstrip("#")
        assert page.find(id=target) is not None, link["href"]
    assert page.select_one(f"#moved-settled a[href='#answer-{ids['rounded']}']") is not None
    assert "reference 0.9 is a typo" in page.select_one("#set-asides").get_text()
    facts = " ".join(page.select_one("#verified").get_text(" ").split())
    assert "50.0%" in facts and "2 of 4 valid tasks, 1 set aside" in facts and "provisional" in facts
    assert "3 of 4 not-correct answers" in page.select_one("#coverage").get_text()
    log = BeautifulSoup((tmp_path / "site" / "reviews.html").read_text(encoding="utf-8"), "html.parser")
    decisions = " ".join(log.select_one("#set-aside-decisions").get_text(" ").split())
    assert "carol" in decisions and "broken (whole task) set aside reference 0.9 is a typo" in decisions
    index = BeautifulSoup((tmp_path / "site" / "index.html").read_text(encoding="utf-8"), "html.parser")
    assert "provisional" in index.get_text()  # the run's row in the run list says so too

    # The terminal says the same: coverage and the set-aside item with its reason.
    shown = corebench("show", RUN, "--store", path).output
    assert "review coverage 3 of 4 not-correct answers decided or set aside (75.0%, incomplete)" in shown
    assert "set aside: broken whole task by carol" in shown and "reference 0.9 is a typo" in shown


def test_hal_and_inspect_exports_carry_both_numbers_and_the_set_asides(moved):
    tmp_path, path, _ = moved
    hal_file = tmp_path / "hal.json"
    corebench("export", "--format", "hal", RUN, "--store", path, "--out", str(hal_file))
    hal = json.loads(hal_file.read_text())
    verification = hal["results"]["verification"]
    assert (verification["automatic_accuracy"], verification["verified_accuracy"]) == (0.4, 0.5)
    assert (verification["valid_tasks"], verification["provisional"]) == (4, True)
    assert [(s["capsule_id"], s["reason"]) for s in verification["set_asides"]] == [("broken", "reference 0.9 is a typo")]

    inspect_file = tmp_path / "run.eval"
    corebench("export", "--format", "inspect", RUN, "--store", path, "--out", str(inspect_file))
    from inspect_ai.log import read_eval_log

    log = read_eval_log(str(inspect_file))
    metrics = log.results.scores[0].metrics
    assert (metrics["accuracy"].value, metrics["verified_accuracy"].value) == (0.4, 0.5)
    assert log.eval.metadata["verification"]["set_asides"][0]["reason"] == "reference 0.9 is a typo"
    broken = next(s for s in log.samples if s.id == "broken" or "broken" in str(s.id))
    explanation = broken.scores["task"].explanation
    assert "verified: set aside" in explanation and "reference 0.9 is a typo" in explanation, explanation
