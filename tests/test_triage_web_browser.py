"""A triage proposal on the web review page, in headless Chromium: shown with its reasoning (an agent's
hostile text stays text), accepted with one click as the reviewer's own verdict, refused when stale.

The proposals come from the real `corebench triage` with a scripted model (the anthropic SDK over
HTTP to the local Messages server); the page is the real `corebench review --web` child process.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.store.database import open_store
from support_browser import browser_marks, chromium_context
from support_report import HOSTILE_SCRIPT
from support_review_web import review_server, review_store

pytestmark = browser_marks


def propose(verdict: str, category: str, reasoning: str) -> dict:
    return {"steps": [{"content": [{"type": "tool_use", "name": "propose", "input": {"proposals": [
        {"answer": 1, "verdict": verdict, "category": category, "reasoning": reasoning}]}}]}]}


@pytest.fixture
def browser(tmp_path_factory):
    with chromium_context(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


def test_a_reviewer_reads_and_accepts_a_triage_proposal_in_the_browser(tmp_path, browser):
    store, ids = review_store(tmp_path / "results.sqlite")
    run_id = store.query("SELECT id FROM runs")[0][0]
    store.close()
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    plays = {"capsule-num": propose("right_in_spirit", "grading_error", "0.93 is 0.9312 rounded to 2 decimals."),
             "capsule-fig": propose("wrong", "agent_error", "The agent read the blue curve."),
             "capsule-xss": propose("wrong", "shortcut", f"The agent echoed {HOSTILE_SCRIPT} instead of running.")}
    for capsule_id, play in plays.items():
        (sessions / f"{capsule_id}.json").write_text(json.dumps(play))
    path = tmp_path / "results.sqlite"
    triaged = CliRunner().invoke(main, ["triage", run_id, "--model", f"scripted:{sessions}", "--store", str(path)],
                                 catch_exceptions=False)
    assert triaged.exit_code == 0, triaged.output

    with review_server(path, "--reviewer", "alice") as server:
        page = browser.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

        page.goto(f"{server.url}answer/{ids.hostile}", wait_until="load")
        assert "wrong, shortcut" in page.inner_text("#triage-proposal")
        assert HOSTILE_SCRIPT in page.inner_text("#triage-reasoning")  # shown as text, never run
        assert page.evaluate("typeof window.__pwned") == "undefined"

        page.goto(f"{server.url}answer/{ids.number}", wait_until="load")
        assert "right in spirit, grading error" in page.inner_text("#triage-proposal")
        assert "not a verdict until a person accepts it" in page.inner_text("#triage-proposal")
        assert page.inner_text("#triage-reasoning") == "0.93 is 0.9312 rounded to 2 decimals."
        assert page.inner_text("#standing").strip() == "disputed"
        page.click("#accept-triage")
        page.wait_for_load_state("load")
        assert f"answer {ids.number}: disputed → correct, triage proposal accepted by alice" in page.inner_text("main")

        page.goto(f"{server.url}answer/{ids.number}", wait_until="load")
        assert page.inner_text("#standing").strip() == "correct"
        assert "alice (triage accepted) disputed → correct: triage accepted by alice" in page.inner_text("#history")

        # A page opened before someone else ruled: its accept button is refused, nothing recorded.
        page.goto(f"{server.url}answer/{ids.figure}", wait_until="load")
        with open_store(path) as other:
            other.conn.execute("INSERT INTO reviews (answer_id, reviewer, created, old_status, new_status, reason, "
                               "source) VALUES (?, 'bob', 'now', 'disputed', 'correct', 'by eye', 'cli')", (ids.figure,))
        response = page.request.post(f"{server.url}answer/{ids.figure}/triage-accept", form={
            "token": page.input_value("#triage-accept input[name=token]"),
            "seen": page.input_value("#triage-accept input[name=seen]"),
            "proposal": page.input_value("#triage-accept input[name=proposal]")})
        assert response.status == 409 and "was ruled on by someone else" in response.text()
        assert problems == []

    with open_store(path) as after:
        rows = [tuple(r) for r in after.query("SELECT answer_id, reviewer, new_status, source FROM reviews ORDER BY id")]
    assert rows == [(ids.number, "alice", "correct", "triage accepted"), (ids.figure, "bob", "correct", "cli")]


def test_an_answer_never_triaged_shows_no_proposal(tmp_path, browser):
    store, ids = review_store(tmp_path / "results.sqlite")
    store.close()
    with review_server(tmp_path / "results.sqlite", "--reviewer", "alice") as server:
        page = browser.new_page()
        page.goto(f"{server.url}answer/{ids.number}", wait_until="load")
        assert page.query_selector("#triage") is None
        assert page.query_selector("#verdict") is not None
