"""`corebench study plan` (seeded, balanced assignment) and the study's measures on a store of sessions."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.records import Usage
from corebench_runner.store.database import AnswerRecord, TaskRecord, claim_task, create_run, finish_task, open_store
from corebench_runner.store.sessions import study_measures
from support_report import render_site

REPO = Path(__file__).resolve().parents[1]
CAPSULES = "iris-lda,cats-heart,sleep-student,longley-nist"
PEOPLE = "alice,bob,carol,dan"


def plan(*extra: str, seed: str = "7") -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--suite", str(REPO), "study", "plan", "--people", PEOPLE, "--capsules", CAPSULES,
                                       "--conditions", "human,human+claude-code", "--model", "anthropic:claude-opus-5-5",
                                       "--seed", seed, *extra])
    return result.exit_code, result.output


def test_the_same_seed_gives_the_same_plan_and_another_seed_another(tmp_path):
    code, first = plan()
    assert code == 0, first
    assert plan()[1] == first
    plan("--out", str(tmp_path / "a.csv"))
    plan("--out", str(tmp_path / "b.csv"))
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert plan(seed="8")[1] != first


def test_the_plan_is_balanced_over_people_capsules_and_conditions(tmp_path):
    code, _ = plan("--out", str(tmp_path / "plan.csv"))
    assert code == 0
    rows = list(csv.DictReader((tmp_path / "plan.csv").open()))
    assert len(rows) == 16  # every person takes every capsule once
    for person in PEOPLE.split(","):
        mine = [r for r in rows if r["person"] == person]
        assert sorted(r["capsule_id"] for r in mine) == sorted(CAPSULES.split(","))
        assert sum(r["condition"] == "human" for r in mine) == 2  # half alone, half with the agent
    for capsule in CAPSULES.split(","):
        assert sum(r["condition"] == "human" for r in rows if r["capsule_id"] == capsule) == 2
    agent_row = next(r for r in rows if r["condition"] == "human+claude-code")
    assert agent_row["command"].endswith("--with-agent claude-code --model anthropic:claude-opus-5-5")
    assert agent_row["command"].startswith(f"corebench session {agent_row['capsule_id']} --person {agent_row['person']}")


@pytest.mark.parametrize("args, message", [
    (["--conditions", "human,robot"], "--conditions: unknown condition 'robot'"),
    (["--capsules", "iris-lda,no-such-capsule"], "no-such-capsule"),
    (["--people", "alice,alice"], "--people: each name once"),
])
def test_a_bad_plan_is_refused_in_one_line(args, message):
    base = {"--people": PEOPLE, "--capsules": CAPSULES, "--conditions": "human,human+codex"}
    base.update(dict(zip(args[::2], args[1::2])))
    argv = ["--suite", str(REPO), "study", "plan", "--seed", "1", "--model", "openai:gpt-5"]
    for flag, value in base.items():
        argv += [flag, value]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert message in result.output


def test_an_agent_condition_needs_a_model():
    result = CliRunner().invoke(main, ["--suite", str(REPO), "study", "plan", "--people", "a", "--capsules", "iris-lda",
                                       "--conditions", "human,human+codex", "--seed", "1"])
    assert result.exit_code == 2 and "--model" in result.output


def _session(store, condition: str, person: str, seconds: float, outcome: str, study: str = "pilot") -> str:
    run_id = uuid.uuid4().hex
    create_run(store, run_id, model="none", scaffold=condition, scaffold_version="1", level="hard", grader="tolerant",
               engine_version="test", host="test", config={"session": {"person": person, "study": study}},
               tasks=[("iris-lda", 0, "0" * 64)])
    task_id = store.conn.execute("SELECT id FROM tasks WHERE run_id = ?", (run_id,)).fetchone()[0]
    claim_task(store, task_id)
    status = {"correct": "correct", "incorrect": "incorrect", "disputed": "disputed"}.get(outcome)
    answers = [AnswerRecord("Q", 1, True, [1, 1], False, status, "")] if status else []
    finish_task(store, task_id, TaskRecord(outcome=outcome, model="none", seconds=seconds, steps=3, usage=Usage(),
                                           answers=answers))
    with store.transaction() as conn:
        conn.execute("UPDATE runs SET status = 'finished' WHERE id = ?", (run_id,))
    return run_id


@pytest.fixture
def study_store(tmp_path):
    path = tmp_path / "results.sqlite"
    with open_store(path) as store:
        for person, seconds in (("alice", 600), ("bob", 900), ("carol", 1200)):
            _session(store, "human", person, seconds, "correct")
        _session(store, "human", "dan", 1800, "timeout")
        for person, seconds in (("alice", 300), ("bob", 400), ("carol", 500)):
            _session(store, "human+claude-code", person, seconds, "correct")
        _session(store, "human+claude-code", "dan", 200, "disputed")  # not correct until a person says so
        _session(store, "human", "erin", 100, "correct", study="another")
    return path


def test_time_to_correct_speedup_and_time_limit_per_condition(study_store):
    with open_store(study_store, create=False) as store:
        measures = study_measures(store, study="pilot")
    human, agent = measures.conditions
    assert (human.condition, human.sessions, human.correct, human.hit_limit) == ("human", 4, 3, 1)
    assert human.median_seconds_to_correct == 900
    assert (agent.condition, agent.sessions, agent.correct, agent.hit_limit) == ("human+claude-code", 4, 3, 0)
    assert agent.median_seconds_to_correct == 400
    [speedup] = measures.speedups
    assert speedup.ratio == pytest.approx(2.25)
    assert speedup.low < 2.25 < speedup.high and speedup.resamples_used > 1500
    with open_store(study_store, create=False) as store:
        again = study_measures(store, study="pilot")
    assert again.speedups == measures.speedups  # the bootstrap is seeded: the same store, the same interval


def test_sessions_that_never_reach_a_correct_answer_count_against_their_condition(tmp_path):
    """One fast success among timeouts is no speed-up: a median over the correct sessions alone
    (100 s against 750 s, "7.5x") would hide the three people the agent left at the time limit."""
    path = tmp_path / "results.sqlite"
    with open_store(path) as store:
        for person, seconds, outcome in (("alice", 600, "correct"), ("bob", 900, "correct"),
                                         ("carol", 1800, "timeout"), ("dan", 1800, "timeout")):
            _session(store, "human", person, seconds, outcome)
        for person, seconds, outcome in (("alice", 100, "correct"), ("bob", 1800, "timeout"),
                                         ("carol", 1800, "timeout"), ("dan", 300, "incorrect")):
            _session(store, "human+codex", person, seconds, outcome)
        measures = study_measures(store, study="pilot")
    human, agent = measures.conditions
    assert human.median_seconds_to_correct == 900  # half of the people had a correct answer by 900 s
    assert agent.correct == 1 and agent.median_seconds_to_correct is None  # one in four: no median
    [speedup] = measures.speedups
    assert speedup.ratio is None
    result = CliRunner().invoke(main, ["study", "results", "--study", "pilot", "--store", str(path)])
    assert "speed-up of human+codex: none claimed" in result.output and "7.5" not in result.output
    page = (render_site(path, tmp_path / "site") / "study.html").read_text()
    assert "Speed-up of human+codex:\nnone claimed" in page


def test_study_results_on_the_command_line_and_the_site(study_store, tmp_path):
    result = CliRunner().invoke(main, ["study", "results", "--study", "pilot", "--store", str(study_store)])
    assert result.exit_code == 0, result.output
    assert "8 session(s) by 4 person(s)" in result.output
    assert "speed-up of human+claude-code: 2.25x (95% bootstrap interval" in result.output
    page = (render_site(study_store, tmp_path / "site") / "study.html").read_text()
    pilot = page[page.index("Study pilot"):page.index("Study another")] if page.index("Study another") > \
        page.index("Study pilot") else page[page.index("Study pilot"):]
    assert "2.25x (95% interval" in " ".join(pilot.split())
    assert pilot.count("<tr><td>") == 8 and page.count("<tr><td>") == 9  # every session, each under its study
