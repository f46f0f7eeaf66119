"""Transcript pages: durations people can read, times from the task's start, and core-agent's calls shown once."""

from __future__ import annotations

import random

from bs4 import BeautifulSoup

from corebench_runner.report.site import build_site
from corebench_runner.report.transcripts import clock, duration, transcript_items
from corebench_runner.store.database import open_store
from support_report import add_run, transcript_events


def test_durations_and_times_read_as_people_write_them():
    assert duration(0.01811829000007492) == "0.018 s"
    assert duration(3.2) == "3.2 s"
    assert duration(125.4) == "2m 05s"
    assert duration(3725) == "1h 02m"
    assert duration(None) == "" and duration(True) == "True"
    assert clock(9.1) == "+0:09" and clock(750) == "+12:30" and clock(3723) == "+1:02:03"
    assert clock(None) == "" and clock(-1) == ""


def test_a_core_agent_tool_call_is_listed_once_and_the_model_call_points_at_it(tmp_path):
    events = transcript_events(random.Random(1), "capsule-0001")
    items = transcript_items(events, tmp_path, "t", "img")
    model_calls = [i for i in items if i["kind"] == "model_call"]
    assert not any(b["kind"] == "tool_use" for i in model_calls for b in i["blocks"])
    refs = [b for i in model_calls for b in i["blocks"] if b["kind"] == "tool_ref"]
    tool_numbers = {i["number"] for i in items if i["kind"] == "tool_call"}
    assert [r["name"] for r in refs] == ["bash", "submit"] and {r["event"] for r in refs} <= tool_numbers
    # A tool_use with no matching tool_call event (an agent stopped mid-call) keeps its input.
    lone = [{"type": "model_call", "content": [{"type": "tool_use", "id": "x", "name": "bash",
                                                 "input": {"command": "make"}}]}]
    assert transcript_items(lone, tmp_path, "t", "img")[0]["blocks"][0]["kind"] == "tool_use"


def test_the_transcript_page_shows_each_command_once_with_formatted_times(tmp_path):
    with open_store(tmp_path / "results.sqlite") as store:
        add_run(store, random.Random(3), "run-times", model="anthropic:claude-haiku-4-5",
                created="2026-03-01T10:00:00+00:00")
        task = store.query("SELECT id FROM tasks WHERE transcript_path IS NOT NULL LIMIT 1")[0]["id"]
        build_site(store, tmp_path / "site")
    page = BeautifulSoup((tmp_path / "site" / "transcripts" / f"{task}.html").read_text(), "html.parser")
    text = page.get_text(" ", strip=True)
    assert text.count("python code/main.py") == 1  # the tool call's command, not again in the model's block
    assert "ls /workspace/code" not in text
    heads = [h.get_text(" ", strip=True) for h in page.select("li.tool-call .event-head")]
    assert any("3.2 s" in h and "+0:03" in h for h in heads), heads
    link = page.select_one("li.model-call a.tag")
    assert link is not None and page.find(id=link["href"][1:]) is not None
