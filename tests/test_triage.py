"""`corebench triage RUN --model scripted:...`: proposals from a model, stored beside (never instead of) verdicts.

The scripted model is the real anthropic SDK talking over HTTP to the local Messages server
(corebench_scripted/), playing a session file per capsule; the store is a real SQLite
file built by the store's own writes (tests/support_store.py); the command is the real click one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.records import Verdict, VerdictStatus
from corebench_runner.store.triage import latest_proposal, run_proposals
from support_store import dispute_store

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def propose_step(*entries: tuple[int, str, str, str], usage: dict | None = None) -> dict:
    step: dict = {"content": [{"type": "text", "text": "Looking at the evidence."},
                              {"type": "tool_use", "name": "propose", "input": {"proposals": [
                                  {"answer": n, "verdict": v, "category": c, "reasoning": r}
                                  for n, v, c, r in entries]}}]}
    if usage is not None:
        step["usage"] = usage
    return step


def sessions(folder: Path, model: str = "scripted", usage: dict | None = None) -> Path:
    """One session per failed capsule of the dispute store, in a folder (ID.json per capsule)."""
    folder.mkdir()
    plays = {
        "capsule-b": propose_step((1, "right_in_spirit", "grading_error",
                                   "0.93 is the references' 0.9312 rounded to two decimals."), usage=usage),
        "capsule-c": propose_step((1, "wrong", "agent_error", "The agent reported adam; the paper's best is Adam W."),
                                  usage=usage),
        "capsule-d": propose_step((1, "wrong", "environment_barrier", "The training never ran: 0.5 is a default."),
                                  (2, "right_in_spirit", "grading_error", "14 is the peak of fig 2 read by eye."),
                                  usage=usage),
    }
    for capsule_id, step in plays.items():
        (folder / f"{capsule_id}.json").write_text(json.dumps({"model": model, "steps": [step]}))
    return folder


def message_text(content) -> str:
    return content if isinstance(content, str) else "".join(block.get("text", "") for block in content)


def corebench(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def sample(tmp_path):
    store, run_id = dispute_store(tmp_path / "results.sqlite")
    yield store, run_id
    store.close()


def statuses(store) -> list[tuple]:
    answers = store.query("SELECT id, status, reason FROM answers ORDER BY id")
    return [tuple(row) for row in answers] + [("reviews", store.query("SELECT COUNT(*) FROM reviews")[0][0])]


def answer_id(store, capsule_id: str, question_start: str = "") -> int:
    return store.query("SELECT answers.id FROM answers JOIN tasks ON tasks.id = answers.task_id "
                       "WHERE capsule_id = ? AND question LIKE ?", (capsule_id, question_start + "%"))[0][0]


def test_triage_stores_a_proposal_per_failed_answer_and_changes_no_status(sample, tmp_path):
    store, run_id = sample
    before = statuses(store)
    result = corebench("triage", run_id, "--model", f"scripted:{sessions(tmp_path / 's')}", "--store", str(store.path))
    assert result.exit_code == 0, result.output
    assert "triaging 4 answer(s) of 3 task(s)" in result.output
    assert ("(Report the test accuracy of the model.): right in spirit, grading error: 0.93 is the references' "
            "0.9312 rounded") in result.output
    assert "4 proposal(s) stored" in result.output and "No status was changed" in result.output

    proposals = run_proposals(store, run_id)
    assert len(proposals) == 4
    rounded = latest_proposal(store, answer_id(store, "capsule-b", "Report the test"))
    assert (rounded.verdict, rounded.category) == ("right_in_spirit", "grading_error")
    assert rounded.model.startswith("scripted:")
    figure = latest_proposal(store, answer_id(store, "capsule-d", "From fig"))
    assert figure.verdict == "right_in_spirit" and "peak of fig 2" in figure.reasoning
    assert latest_proposal(store, answer_id(store, "capsule-a")) is None  # a correct answer is not triaged
    assert statuses(store) == before  # no answer's status and no verdict moved

    again = corebench("triage", run_id, "--model", f"scripted:{tmp_path / 's'}", "--store", str(store.path))
    assert again.exit_code == 0 and "nothing to triage" in again.output
    redone = corebench("triage", run_id, "--model", f"scripted:{tmp_path / 's'}", "--redo", "--store", str(store.path))
    assert "4 proposal(s) stored" in redone.output
    assert store.query("SELECT COUNT(*) FROM triage_proposals")[0][0] == 8 and len(run_proposals(store, run_id)) == 4
    assert statuses(store) == before


def test_the_model_sees_the_failed_answer_and_its_evidence_but_no_correct_one(sample, tmp_path):
    from corebench_scripted.messages_api import MessagesServer

    store, run_id = sample
    seen: list[dict] = []
    original = MessagesServer.answer

    def spy(self, headers, body):
        seen.append(body)
        return original(self, headers, body)

    MessagesServer.answer = spy
    try:
        result = corebench("triage", run_id, "--model", f"scripted:{sessions(tmp_path / 's')}",
                           "--store", str(store.path))
    finally:
        MessagesServer.answer = original
    assert result.exit_code == 0, result.output
    texts = [message_text(body["messages"][0]["content"]) for body in seen]
    prompts = {text.split(",")[0]: text for text in texts}
    assert set(prompts) == {"Capsule capsule-b", "Capsule capsule-c", "Capsule capsule-d"}
    rounded = prompts["Capsule capsule-b"]
    assert "Reported: 0.93" in rounded and "Reference runs: 0.9312, 0.9312, 0.9312" in rounded
    assert "0.93 equals the references rounded to 2 decimals" in rounded  # the grader's reason
    assert "test accuracy: 0.93" in rounded  # the evidence and the transcript
    assert "Report the final training loss" not in rounded  # its correct answer is not asked about
    assert seen[0]["tools"][0]["name"] == "propose"


def test_a_reply_without_a_usable_proposal_is_said_and_stores_none(sample, tmp_path):
    store, run_id = sample
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "default.json").write_text(json.dumps({"steps": [propose_step((7, "maybe", "agent_error", "?"))]}))
    result = corebench("triage", run_id, "--model", f"scripted:{folder}", "--store", str(store.path))
    assert result.exit_code == 0, result.output
    assert "answer 7: no such numbered answer" in result.output
    assert "0 proposal(s) stored" in result.output
    assert run_proposals(store, run_id) == {}
    errors = [row[0] for row in store.query("SELECT error FROM triage_calls")]
    assert len(errors) == 3 and all("no proposal for answer(s) 1" in e for e in errors)


def test_cost_is_recorded_and_the_cap_stops_proposing(sample, tmp_path):
    store, run_id = sample
    # A priced model name: each call's million input tokens cost claude-haiku-4-5's input price.
    folder = sessions(tmp_path / "s", model="claude-haiku-4-5", usage={"input_tokens": 1_000_000, "output_tokens": 0})
    result = corebench("triage", run_id, "--model", f"scripted:{folder}", "--max-cost", "0.5",
                       "--store", str(store.path))
    assert result.exit_code == 0, result.output
    calls = store.query("SELECT model, input_tokens, cost_usd FROM triage_calls")
    assert len(calls) == 1  # the first call spent more than the cap: no second call started
    assert calls[0]["input_tokens"] == 1_000_000 and calls[0]["cost_usd"] > 0.5
    assert "of its --max-cost $0.50; 3 answer(s) of 2 task(s) left without a proposal" in result.output
    assert len(run_proposals(store, run_id)) == 1

    resumed = corebench("triage", run_id, "--model", f"scripted:{folder}", "--max-cost", "10",
                        "--store", str(store.path))
    assert "triaging 3 answer(s) of 2 task(s)" in resumed.output and "stopped" not in resumed.output
    assert len(run_proposals(store, run_id)) == 4
    # `show` puts the triage's bill beside the run, named as the harness's, not the agent's cost.
    spent = sum(row["cost_usd"] for row in store.query("SELECT cost_usd FROM triage_calls"))
    shown = corebench("show", run_id, "--store", str(store.path)).output
    assert f"harness spending (not the agent's cost): triage 3 call(s), 3000000 tokens, ${spent:.2f}" in shown


def test_a_cap_on_an_unpriced_model_is_refused_in_one_line(sample, tmp_path):
    store, run_id = sample
    folder = sessions(tmp_path / "s", model="no-such-model-xyz")
    result = CliRunner().invoke(main, ["triage", run_id, "--model", f"scripted:{folder}", "--max-cost", "1",
                                       "--store", str(store.path)])
    assert result.exit_code == 2
    assert result.output.startswith("error: --max-cost: model 'no-such-model-xyz' has no price")
    assert store.query("SELECT COUNT(*) FROM triage_calls")[0][0] == 0


def test_an_unknown_run_is_one_line(sample, tmp_path):
    store, _ = sample
    result = CliRunner().invoke(main, ["triage", "nope", "--model", "scripted:x.json", "--store", str(store.path)])
    assert result.exit_code == 2 and result.output.startswith("error: no run 'nope'")


def triaged(store, run_id: str, tmp_path: Path, **overrides: dict) -> None:
    folder = sessions(tmp_path / "s")
    for capsule_id, step in overrides.items():
        (folder / f"{capsule_id}.json").write_text(json.dumps({"steps": [step]}))
    result = corebench("triage", run_id, "--model", f"scripted:{folder}", "--store", str(store.path))
    assert result.exit_code == 0, result.output


def screens(output: str) -> list[str]:
    """The answer screens of a review session, in the order shown."""
    return [part for part in output.split("\n== ")[1:] if " of " in part.split("\n")[0]]


def test_review_order_triage_shows_right_in_spirit_first_and_accepting_is_a_persons_verdict(sample, tmp_path):
    store, run_id = sample
    # capsule-d's wrong value is proposed right in spirit (a broken reference): an incorrect answer
    # that must reach a person although it is no dispute.
    triaged(store, run_id, tmp_path, **{"capsule-d": propose_step(
        (1, "right_in_spirit", "benchmark_error", "The reference runs used another seed; 0.5 is what the code gives."),
        (2, "wrong", "agent_error", "14 is not the peak.")),
        # an agent-written escape sequence in the reasoning must be shown, not obeyed by the terminal
        "capsule-c": propose_step((1, "wrong", "agent_error", "Not Adam W.\x1b[2J\x1b]0;pwned\x07"))})
    before = [tuple(r) for r in store.query("SELECT id, status FROM answers ORDER BY id")]
    result = CliRunner().invoke(main, ["review", "--store", str(store.path), "--reviewer", "alice", "--order", "triage"],
                                input="a\ns\nq\n", catch_exceptions=False)
    assert result.exit_code == 0, result.output
    shown = screens(result.output)
    assert len(shown) == 3  # accepted, skipped, then quit at the third screen
    first, second, third = shown
    accuracy_d = answer_id(store, "capsule-d", "Report the test")
    rounded_b = answer_id(store, "capsule-b", "Report the test")
    # right in spirit first, in the queue's order: capsule-b's dispute, then capsule-d's incorrect answer
    assert first.startswith(f"1 of 4: answer {rounded_b}")
    assert "Triage      right in spirit, grading error (by scripted:" in first
    assert "0.93 is the references' 0.9312 rounded to two decimals." in first
    assert "[a]ccept triage (correct)" in result.output
    assert second.startswith(f"2 of 4: answer {accuracy_d}")
    assert "benchmark error (reference or question wrong)" in second
    assert "Capsule     capsule-c" in third and "Triage      wrong, agent error" in third  # wrong comes after
    assert "Not Adam W.\\x1b[2J\\x1b]0;pwned\\x07" in third and "\x1b" not in result.output

    rows = store.query("SELECT answer_id, reviewer, old_status, new_status, reason, source FROM reviews")
    assert [tuple(r) for r in rows] == [(rounded_b, "alice", "disputed", "correct",
                                         rows[0]["reason"], "triage accepted")]
    assert rows[0]["reason"].startswith("triage accepted by alice: right in spirit, grading error")
    assert "recorded: disputed -> correct by alice" in result.output
    assert [tuple(r) for r in store.query("SELECT id, status FROM answers ORDER BY id")] == before  # auto kept

    log = CliRunner().invoke(main, ["review", "log", "--store", str(store.path)], catch_exceptions=False)
    assert "alice (triage accepted)" in log.output
    assert "disputed -> correct: triage accepted by alice" in " ".join(log.output.split())


def test_an_accepted_proposal_is_kept_by_regrade_as_a_persons_verdict(sample, tmp_path):
    from corebench_runner.review.triage_view import accept_proposal
    from corebench_runner.review.verdicts import regrade
    from corebench_runner.store.results import run_summary

    store, run_id = sample
    triaged(store, run_id, tmp_path)
    rounded_b = answer_id(store, "capsule-b", "Report the test")
    before = run_summary(store, run_id).verified_correct
    accept_proposal(store, rounded_b, reviewer="bob", seen_review_id=0)
    assert run_summary(store, run_id).verified_correct == before + 1

    class Strict:  # a grader that rejects everything: a person's verdict must still stand
        name = "strict"

        def grade(self, question, reported, *, reported_present=True):
            return Verdict(VerdictStatus.INCORRECT, "strict")

    result = regrade(store, run_id, Strict(), "strict", reviewer="machine")
    assert store.latest_status(rounded_b) == "correct"
    assert rounded_b in {view.answer_id for view, _ in result.disagreements}


def test_accept_without_a_proposal_is_asked_again(sample):
    store, _ = sample
    result = CliRunner().invoke(main, ["review", "--store", str(store.path), "--reviewer", "alice"],
                                input="a\nq\n", catch_exceptions=False)
    assert "This answer has no triage proposal; type c, i, s or q" in result.output
    assert "Triage " not in result.output
    assert store.query("SELECT COUNT(*) FROM reviews")[0][0] == 0


def test_the_web_queue_is_sorted_by_triage_when_asked(sample, tmp_path):
    import requests
    from bs4 import BeautifulSoup

    from corebench_runner.review_web.pages import Filters
    from support_review_web import thread_server

    store, run_id = sample
    # capsule-b's dispute is proposed wrong, capsule-d's figure dispute right in spirit, capsule-c not triaged.
    triaged(store, run_id, tmp_path, **{
        "capsule-b": propose_step((1, "wrong", "agent_error", "Not rounded: another run.")),
        "capsule-c": {"content": [{"type": "text", "text": "I cannot tell."}]}})
    rounded_b, best_c, figure_d = (answer_id(store, "capsule-b", "Report the test"), answer_id(store, "capsule-c"),
                                   answer_id(store, "capsule-d", "From fig"))

    def listed(html: str) -> list[int]:
        rows = BeautifulSoup(html, "html.parser").select("#answers tbody tr td.num a")
        return [int(a.get_text()) for a in rows]

    with thread_server(store.path, "alice") as url:
        assert listed(requests.get(url, timeout=30).text) == [rounded_b, best_c, figure_d]  # the usual order
        assert listed(requests.get(url + "?order=triage", timeout=30).text) == [figure_d, rounded_b, best_c]
        # Each row says what triage proposed, by which model, or that it proposed nothing.
        rows = BeautifulSoup(requests.get(url, timeout=30).text, "html.parser").select("#answers tbody tr")
        proposed = {int(r.select_one("td.num a").get_text()): r.select_one("td.triage-proposal").get_text(" ", strip=True)
                    for r in rows}
        assert proposed[best_c] == "none" and proposed[rounded_b].startswith("wrong")
        assert "agent error" in proposed[rounded_b] and "(by scripted:" in proposed[rounded_b]
        assert "right in spirit" in proposed[figure_d]
        page = BeautifulSoup(requests.get(f"{url}answer/{figure_d}?order=triage", timeout=30).text, "html.parser")
        assert page.select_one("#next")["href"].startswith(f"/answer/{rounded_b}?")
        assert requests.get(url + "?order=sideways", timeout=30).status_code == 400
    with thread_server(store.path, "alice", Filters(order="triage")) as url:  # `review --web --order triage`
        assert listed(requests.get(url, timeout=30).text) == [figure_d, rounded_b, best_c]


def test_a_scaffold_given_a_model_of_another_api_is_refused_before_anything_starts(sample, tmp_path):
    store, run_id = sample
    result = CliRunner().invoke(main, ["triage", run_id, "--model", f"scripted:{sessions(tmp_path / 's')}",
                                       "--scaffold", "codex", "--store", str(store.path)])
    assert result.exit_code == 2
    assert "error: this agent speaks the OpenAI API, but --model scripted:" in result.output
    assert store.query("SELECT COUNT(*) FROM triage_calls")[0][0] == 0
