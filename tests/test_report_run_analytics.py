"""Per-run token and step analytics from the transcripts, as the run page shows them."""

from __future__ import annotations

import random

from bs4 import BeautifulSoup

from corebench_runner.agents.cli_agents.normalise import normalise
from corebench_runner.agents.cli_agents.session import _call_event, with_model_calls
from corebench_runner.agents.relay.server import RelayCall
from corebench_runner.report.analytics import run_analytics, task_analytics
from corebench_runner.report.data import slug
from corebench_runner.report.site import build_site
from corebench_runner.store.database import open_store
from support_report import add_run, transcript_events
from test_agent_call_order import CLAUDE_TWO_TURNS


def test_core_agent_tokens_split_at_the_first_run_of_the_capsules_code():
    found = task_analytics(transcript_events(random.Random(1), "capsule-0001"))
    assert (found.model_calls, found.tool_calls, found.commands) == (2, 2, 1)
    # The first call (1,280 tokens) came before `python code/main.py` ran at 3.7 s; the submit call after.
    assert (found.tokens_before_code, found.tokens_after_code) == (1280, 1280)
    assert found.ran_code and found.first_code_run_t == 3.7


def test_an_agent_clis_transcript_is_read_the_same_way_and_reading_code_is_not_running_it():
    stream = normalise("claude-code", CLAUDE_TWO_TURNS.replace("Rscript a.R", "Rscript code/a.R"))
    calls = [_call_event(RelayCall("POST", "/v1/messages", 200, started=101.0, seconds=1.0), 100.0),
             _call_event(RelayCall("POST", "/v1/messages", 200, started=105.0, seconds=1.0), 100.0)]
    found = task_analytics(with_model_calls(stream, calls))
    assert found.model_calls == 2 and found.commands == 1 and found.ran_code and found.first_code_run_t == 2.0
    reading = [{"type": "tool_call", "name": "bash", "input": {"command": "cat code/main.py"}, "t": 1.0}]
    assert not task_analytics(reading).ran_code
    summary = run_analytics([found, task_analytics(reading)])
    assert summary.tasks == 2 and summary.ran_code == 1 and summary.median_first_code_run_t == 2.0


def test_the_run_page_shows_the_runs_tokens_and_steps(tmp_path):
    with open_store(tmp_path / "results.sqlite") as store:
        add_run(store, random.Random(3), "run-analytics", model="anthropic:claude-haiku-4-5",
                created="2026-03-01T10:00:00+00:00")
        kept = store.query("SELECT COUNT(*) AS n FROM tasks WHERE transcript_path IS NOT NULL")[0]["n"]
        build_site(store, tmp_path / "site")
    page = BeautifulSoup((tmp_path / "site" / "runs" / f"{slug('run-analytics')}.html").read_text(), "html.parser")
    rows = {r.th.get_text(strip=True): r.td.get_text(strip=True) for r in page.select("table.analytics tr")}
    assert rows["Tasks with a transcript"] == str(kept)
    assert rows["Model calls"] == str(2 * kept)
    assert rows["Tasks that ran the capsule's code"] == f"{kept} of {kept}"
    assert rows["Time to the first run of the code (median)"] == "4s"
