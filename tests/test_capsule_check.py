"""`corebench capsule check`: real oracle runs in real containers, judged against the references."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.capsules.format import Question
from corebench_runner.capsules.suite import Suite
from corebench_runner.cli import main
from corebench_runner.running.capsule_check import OracleRun, judge_question, suggest_resources
from support_capsules import good_capsule_doc, write_capsule

MEAN = "Report the mean petal length, rounded to 4 decimal places."

# Same answers as the tiny capsule, except the mean gets random noise, and it holds ~300 MiB for a moment.
NOISY_CODE = """import json, random, time
ballast = bytearray(300 * 2**20)
for i in range(0, len(ballast), 4096):
    ballast[i] = 1  # touch every page, so the memory is really used
rows = [float(x) for x in open('data/petals.csv').read().split()[1:]]
mean = sum(rows) / len(rows) + random.random()
json.dump({'mean_petal_length': round(mean, 4), 'widest_species': 'setosa', 'clusters': 3},
          open('results/summary.json', 'w'))
"""


def _suite(root: Path) -> Path:
    for capsule_id in ("steady", "noisy"):
        doc = good_capsule_doc(capsule_id)
        doc["resources"] = {"cpus": 1, "memory": "1g", "time_limit": 300}
        folder = write_capsule(root / "capsules", capsule_id, doc)
        if capsule_id == "noisy":
            (folder / "code" / "analysis.py").write_text(NOISY_CODE)
    return root


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    return _suite(tmp_path_factory.mktemp("check") / "suite")


@pytest.mark.docker
def test_a_non_deterministic_capsule_is_flagged_flaky(suite):
    result = CliRunner().invoke(main, ["--suite", str(suite), "capsule", "check", "noisy", "--runs", "3"])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert f"  [flaky] {MEAN}" in lines
    assert "  [stable] Report the name of the species with the widest sepals." in lines
    assert "FLAKY: 1 question(s) vary between runs" in result.output
    assert sum(1 for line in lines if line.startswith("  run ") and ": ok;" in line) == 3
    # ~300 MiB held by the code: measured from the container, suggested with headroom.
    peaks = [float(line.split("peak memory ")[1].split()[0]) for line in lines if "peak memory" in line]
    assert all(p >= 300 for p in peaks), peaks
    assert 'memory = "512m"' in lines and "[resources]" in lines


@pytest.mark.docker
def test_a_deterministic_capsule_is_healthy_and_measured(suite):
    result = CliRunner().invoke(main, ["--suite", str(suite), "capsule", "check", "steady", "--runs", "2", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["healthy"] is True and report["level"] == "medium"
    assert {q["status"] for q in report["questions"]} == {"stable"}
    assert all(0 < r["peak_memory_bytes"] < 300 * 2**20 and r["seconds"] > 0 for r in report["runs"])
    assert report["suggested_resources"]["memory"] == "256m"
    assert report["suggested_resources"]["time_limit"] == 60


def test_user_mistakes_are_one_line(suite):
    for args, needle in ((["check", "steady", "--runs", "1"], "--runs must be at least 2"),
                         (["check", "nope"], "nope")):
        result = CliRunner().invoke(main, ["--suite", str(suite), "capsule", *args])
        assert result.exit_code == 2 and needle in result.output, result.output
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_judging_spread_against_references():
    zero = Question(MEAN, runs=(0.5, 0.5, 0.5))
    assert judge_question(zero, [0.5, 0.5]).status == "stable"
    assert judge_question(zero, [0.5, 0.51]).status == "flaky"
    assert judge_question(zero, [0.7, 0.7]).status == "mismatch"
    assert judge_question(zero, [0.5, None]).status == "unanswered"
    spread = Question(MEAN, runs=(0.50, 0.52, 0.54))  # interval about [0.45, 0.59]
    assert judge_question(spread, [0.51, 0.53]).status == "stable"  # varies, but as much as the references do
    assert judge_question(spread, [0.51, 0.80]).status == "flaky"
    text = Question("Report the best model.", runs=("cnn", "cnn", "cnn"))
    assert judge_question(text, ["CNN", "rnn"]).status == "flaky"


def test_suggested_resources_have_headroom(tmp_path):
    capsule = Suite(_suite(tmp_path / "suite")).load("steady")
    runs = [OracleRun({}, 100.0, 900 * 2**20, None, None, None), OracleRun({}, 130.0, 1000 * 2**20, None, None, None)]
    suggested = suggest_resources(capsule, runs)
    assert suggested["time_limit"] == 420 and suggested["memory"] == "1536m" and suggested["cpus"] == 1


UID_QUESTION = "Report the user id the code ran as."


@pytest.mark.docker
def test_check_and_reproduce_run_the_code_as_the_capsules_agent_user(tmp_path):
    """A check is the real run: the oracle's code runs as the capsule's agent_user, as a task's agent would."""
    doc = good_capsule_doc("unprivileged")
    doc["agent_user"] = "agent"
    doc["reproduce"] = "python3 code/analysis.py && id -u > results/uid.txt"
    doc["resources"] = {"cpus": 1, "memory": "1g", "time_limit": 300}
    doc["questions"].append({"text": UID_QUESTION, "runs": [1000, 1000, 1000],  # uid 1000: the images' `agent`
                             "extract": {"file": "results/uid.txt", "regex": "(\\d+)"}})
    suite = tmp_path / "suite"
    folder = write_capsule(suite / "capsules", "unprivileged", doc)
    runner = CliRunner()
    checked = runner.invoke(main, ["--suite", str(suite), "capsule", "check", "unprivileged", "--runs", "2", "--json"])
    assert checked.exit_code == 0, checked.output
    report = json.loads(checked.output)
    (uid,) = [q for q in report["questions"] if q["question"] == UID_QUESTION]
    assert (uid["observed"], uid["status"]) == ([1000, 1000], "stable")
    assert report["healthy"] is True

    reproduced = runner.invoke(main, ["--suite", str(suite), "capsule", "reproduce", "unprivileged"])
    assert reproduced.exit_code == 0, reproduced.output
    assert (folder / "results" / "uid.txt").read_text() == "1000\n"  # kept from the run, made as `agent`
