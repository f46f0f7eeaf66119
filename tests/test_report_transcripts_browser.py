"""Transcripts read as a conversation in headless Chromium, for core-agent and for every agent CLI
(Claude Code, Codex, OpenCode): the prompt first, tool output folded past a few lines, model calls
with tokens and cost, a filter for tool calls and errors that needs no script, and a 10 MB
transcript that opens in under 2 s because it is split into pages, with nothing lost between them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from corebench_runner.agents.cli_agents.normalise import normalise
from corebench_runner.report.site import build_site
from corebench_runner.store.database import open_store
from support_browser import PageWatch, browser_marks
from support_store import QA, SampleTask, add_run
from test_agent_transcripts import CLAUDE, CODEX, OPENCODE  # each agent's stream, in the shape its binary prints

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
pytestmark = browser_marks


def conversation(steps: int, output_lines: int, fail_every: int = 0) -> list[dict]:
    """A core-agent transcript of `steps` model turns, each calling bash with `output_lines` of output."""
    events: list[dict] = [{"type": "prompt", "system": "You are a research engineer.",
                           "user": "Reproduce the capsule and report the accuracy.", "tools": ["bash", "submit"]}]
    for step in range(1, steps + 1):
        usage = {"input_tokens": 1000 + step, "output_tokens": 50, "cost_usd": 0.0042}
        events.append({"type": "model_call", "step": step, "usage": usage, "stop_reason": "tool_use",
                       "content": [{"type": "text", "text": f"Step {step}: running the next script."},
                                   {"type": "tool_use", "id": f"t{step}", "name": "bash",
                                    "input": {"command": f"python step_{step}.py"}}]})
        failed = bool(fail_every) and step % fail_every == 0
        events.append({"type": "tool_call", "step": step, "id": f"t{step}", "name": "bash",
                       "input": {"command": f"python step_{step}.py"},
                       "output": "".join(f"step {step} line {n}: loss {0.5 / (n + 1):.6f}\n" for n in range(output_lines)),
                       "exit_code": 1 if failed else 0, "is_error": failed})
    events.append({"type": "end", "outcome": None, "reason": "submitted", "steps": steps})
    return events


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    root = tmp_path_factory.mktemp("transcripts")
    built = {}
    with open_store(root / "results.sqlite") as store:
        for name, events in (("small", conversation(6, 40, fail_every=3)),
                             ("big", conversation(400, 900))):  # about 10 MB of JSON
            run_id = add_run(store, [SampleTask(f"capsule-{name}", [QA("Report the accuracy.", 0.9, [0.9] * 3,
                                                                        "correct")], transcript=events)])
            task_id = store.query("SELECT id FROM tasks WHERE run_id = ?", (run_id,))[0]["id"]
            built[name] = (task_id, events)
        build_site(store, root / "site")
        path = store.artifacts_dir / store.query("SELECT transcript_path FROM tasks WHERE id = ?",
                                                 (built["big"][0],))[0]["transcript_path"]
        assert path.stat().st_size > 10_000_000
    return root / "site", built


@pytest.fixture
def watch(browser):
    with PageWatch(browser) as page_watch:
        page_watch.page.set_viewport_size({"width": 1280, "height": 900})
        yield page_watch


def test_a_conversation_starts_with_the_prompt_and_folds_long_output(sites, watch):
    site, built = sites
    task_id, events = built["small"]
    watch.open(site / "transcripts" / f"{task_id}.html")
    page = watch.page
    first = page.locator(".transcript > li").first
    assert "Task prompt" in first.inner_text() and "Reproduce the capsule" in first.inner_text()
    call = page.locator("li.tool-call").first
    shown = call.locator("pre.output").first.inner_text()
    assert shown.splitlines() == events[2]["output"].splitlines()[:8]  # a few lines, then the fold
    fold = call.locator("details.fold")
    assert "40 lines of output" in fold.locator("summary").inner_text() and not fold.locator("pre").is_visible()
    fold.locator("summary").click()
    assert "step 1 line 39" in fold.locator("pre").inner_text()
    assert "1,001 in / 50 out tokens, $0.0042" in page.locator("li.model-call").first.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-transcript.png"), full_page=True)
    assert watch.problems == []


def test_the_filter_shows_only_tool_calls_or_only_errors_without_any_script(sites, watch):
    site, built = sites
    task_id, events = built["small"]
    watch.open(site / "transcripts" / f"{task_id}.html")
    page = watch.page
    visible = "els => els.filter(e => e.offsetParent !== null).map(e => e.className)"
    assert len(page.eval_on_selector_all(".transcript > li", visible)) == len(events)
    page.locator("label[for=show-tools]").click()
    shown = page.eval_on_selector_all(".transcript > li", visible)
    assert len(shown) == 6 and all("tool-call" in c for c in shown)
    page.locator("label[for=show-errors]").click()
    shown = page.eval_on_selector_all(".transcript > li", visible)
    assert len(shown) == 2 and all("has-error" in c for c in shown)  # steps 3 and 6 failed
    assert page.locator("script").count() == 0


def test_a_10_mb_transcript_opens_in_under_2_s_and_its_pages_hold_every_event(sites, watch):
    site, built = sites
    task_id, events = built["big"]
    first = site / "transcripts" / f"{task_id}.html"
    started = time.perf_counter()
    watch.page.goto(first.as_uri(), wait_until="load")
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, f"first page took {elapsed:.2f}s"
    hrefs = watch.page.eval_on_selector_all("nav.pager a", "as => as.map(a => a.getAttribute('href'))")
    later = sorted(set(hrefs), key=lambda h: int(h.split("-p")[1].split(".")[0]))  # 2, 3, ... (page 1 is bold)
    pages = [first] + [site / "transcripts" / h for h in later]
    assert len(pages) > 3
    numbers = []
    for path in pages:
        started = time.perf_counter()
        watch.page.goto(path.as_uri(), wait_until="load")
        assert time.perf_counter() - started < 2.0, path.name
        numbers += [int(i.split("-")[1]) for i in watch.page.eval_on_selector_all(
            ".transcript > li", "els => els.map(e => e.id)")]
    assert numbers == list(range(1, len(events) + 1))  # every event once, in order, across the pages
    assert "submitted" in watch.page.inner_text(".transcript > li:last-child")


AGENT_STREAMS = {"claude-code": (CLAUDE, "Running it.", "Rscript a.R", "Error: no package"),
                 "codex": (CODEX, "All <done>.", "bash -lc ls", None),
                 "opencode": (OPENCODE, "Looking.", "python3 x.py", "boom")}


def agent_transcript(agent: str) -> list[dict]:
    """What agents/cli_agents/session.py stores for an agent CLI: the prompt, the agent's start, its normalised stream,
    then the model calls the metering relay forwarded."""
    stream, _, _, _ = AGENT_STREAMS[agent]
    return ([{"type": "prompt", "user": "Reproduce the capsule and report the accuracy."},
             {"type": "command", "agent": agent, "version": "1.2.3", "model": "m-1", "attempt": 1,
              "resumed_session": None, "exit_code": 0, "timed_out": False, "seconds": 42.5, "stderr_tail": "warn: x"}]
            + normalise(agent, stream).events
            + [{"type": "model_call", "method": "POST", "path": "/v1/messages", "status": 200, "model": "m-1",
                "usage": {"input_tokens": 1500, "output_tokens": 90, "cost_usd": 0.0105}, "refused": ""}])


@pytest.mark.parametrize("agent", sorted(AGENT_STREAMS))
def test_every_agent_clis_transcript_reads_as_a_conversation(agent, tmp_path, watch):
    _, said, command, failed_output = AGENT_STREAMS[agent]
    events = agent_transcript(agent)
    with open_store(tmp_path / "results.sqlite") as store:
        run_id = add_run(store, [SampleTask("capsule-a", [QA("Report the accuracy.", 0.9, [0.9] * 3, "correct")],
                                            transcript=events)], scaffold=agent)
        task_id = store.query("SELECT id FROM tasks WHERE run_id = ?", (run_id,))[0]["id"]
        build_site(store, tmp_path / "site")
    watch.open(tmp_path / "site" / "transcripts" / f"{task_id}.html")
    page = watch.page
    items = page.locator(".transcript > li")
    assert "Task prompt" in items.nth(0).inner_text() and "Reproduce the capsule" in items.nth(0).inner_text()
    assert f"Agent {agent} 1.2.3" in items.nth(1).inner_text() and "exit 0" in items.nth(1).inner_text()
    assert said in page.inner_text("main")  # what the agent said, as text (the markup stays text)
    tool = page.locator("li.tool-call", has=page.locator("pre.command", has_text=command))
    assert tool.count() == 1
    assert "1,500 in / 90 out tokens, $0.0105" in page.locator("li.model-call").last.inner_text()
    # Only events no reader knows stay raw JSON (Claude Code's rate-limit notice); the agent's start never.
    raw = page.locator("li.event.other").all_inner_texts()
    assert all("rate_limit_event" in r for r in raw)
    page.locator("label[for=show-errors]").click()
    errors = page.eval_on_selector_all(".transcript > li", "els => els.filter(e => e.offsetParent).map(e => e.innerText)")
    if failed_output:
        assert any(failed_output in e for e in errors)
    assert all("has-error" in c for c in page.eval_on_selector_all(
        ".transcript > li", "els => els.filter(e => e.offsetParent).map(e => e.className)"))
    assert page.evaluate("typeof window.__pwned") == "undefined" and watch.problems == []
    page.locator("label[for=show-all]").click()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report-transcript-{agent}.png"), full_page=True)
