"""`corebench review --web` in headless Chromium, as a reviewer uses it: open the queue, look at the
figure, type a reason, click; settle a number with the keyboard; read a hostile answer safely. Then
the terminal commands (`review log`, `runs`) show the verdicts and the new verified accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from support_browser import browser_marks, chromium_context
from support_report import HOSTILE_SCRIPT
from support_review_web import HOSTILE_REPORTED, RUN_ID, review_server, review_store

pytestmark = browser_marks
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def browser(tmp_path_factory):
    with chromium_context(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


class Watched:
    """A page, and what a person would see go wrong in the console (a blocked script is one)."""

    def __init__(self, context) -> None:
        self.page = context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("response", lambda r: self.problems.append(f"{r.status} for {r.url}") if r.status >= 400 else None)


def figure_widths(page) -> list[int]:
    return page.eval_on_selector_all("#figures img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")


def test_a_reviewer_settles_a_figure_and_a_number_in_the_browser(tmp_path, browser):
    store, ids = review_store(tmp_path / "results.sqlite")
    store.close()
    path = tmp_path / "results.sqlite"
    with review_server(path, "--reviewer", "alice") as server:
        watched = Watched(browser)
        page = watched.page
        page.goto(server.url, wait_until="load")
        assert "3 open" in page.inner_text("#counts")
        assert json.dumps(HOSTILE_REPORTED) in page.inner_text("#answers")  # listed as text, not run
        assert page.evaluate("typeof window.__pwned") == "undefined"
        page.get_by_role("link", name="From fig 2, report the peak value of the red curve.").click()

        # The figure question: both figures are on the page, really decoded, scaled to the column.
        page.wait_for_selector("#figures img")
        page.wait_for_function("[...document.querySelectorAll('#figures img')].every(i => i.complete)")
        assert figure_widths(page) == [320, 320]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "review-web-figure.png"), full_page=True)
        box = page.locator("#figures img").first.bounding_box()
        assert 0 < box["width"] <= page.locator(".review-main").bounding_box()["width"]
        assert page.locator("#transcript").is_visible() and not page.locator("#transcript li").first.is_visible()
        page.keyboard.press("t")  # folds the transcript open beside the answer
        assert page.locator("#transcript li").first.is_visible()

        # Clicking "correct" with no reason asks for one instead of posting.
        page.click("#correct")
        assert "reason is needed" in page.inner_text("#hint")
        assert page.evaluate("document.activeElement.id") == "reason"
        page.fill("#reason", "the red curve peaks at 14.2; 14 is that read off the axis")
        page.click("#correct")
        page.wait_for_url(f"**/answer/{ids.number}?*")
        assert f"answer {ids.figure}: disputed → correct, recorded by alice" in page.inner_text(".notice")

        # The number, with the keyboard only: c asks for the reason, Ctrl+Enter gives the verdict.
        assert "0.93" in page.inner_text("#reported")
        page.keyboard.press("c")
        assert page.evaluate("document.activeElement.id") == "reason"
        page.keyboard.type("rounded from 0.9312 (2 decimals); same result")
        page.keyboard.press("Control+Enter")
        page.wait_for_url(f"**/answer/{ids.hostile}?*")

        # The hostile answer reads as text: nothing the agent wrote runs, not even when clicked.
        assert page.inner_text("#reported") == json.dumps(HOSTILE_REPORTED)
        page.keyboard.press("t")
        assert HOSTILE_SCRIPT in page.inner_text("#transcript")
        page.locator("#transcript").get_by_text("click me").first.click()
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.locator("#transcript a[href^='javascript']").count() == 0

        # s skips (nothing recorded); it was the last open dispute, so the queue comes back.
        page.keyboard.press("s")
        page.wait_for_url(f"{server.url}?*")
        assert "1 open" in page.inner_text("#counts") and "75.0%" in page.inner_text("#runs")
        assert watched.problems == []

    runner = CliRunner()
    log = runner.invoke(main, ["review", "log", "--store", str(path)])
    assert log.exit_code == 0, log.output
    assert log.output.count("alice (cli)") == 2
    assert "the red curve peaks at 14.2" in log.output and "rounded from 0.9312" in log.output
    runs = runner.invoke(main, ["runs", "--store", str(path)])
    assert runs.exit_code == 0, runs.output
    row = next(line for line in runs.output.splitlines() if line.startswith(RUN_ID[:12]))
    assert "25.0%" in row and "75.0%" in row  # automatic stays, verified moves: 3 of 4 tasks
