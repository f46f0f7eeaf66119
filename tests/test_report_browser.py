"""The built site in a real browser: headless Chromium (Debian's), driven over the DevTools protocol
by playwright. Every page loads without console errors or failed requests, every link lands on a
file of the site, figures and charts really render, and a hostile transcript runs no script."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from support_browser import PageWatch, browser_marks
from support_report import HOSTILE_SCRIPT, HOSTILE_TEXT, render_site, report_site

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = browser_marks


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    built, out = report_site(tmp_path_factory.mktemp("browser"))
    yield built, out
    built.store.close()


@pytest.fixture
def watch(browser):
    with PageWatch(browser) as page_watch:
        yield page_watch


def test_every_page_loads_cleanly_and_links_only_to_existing_files_of_the_site(site, watch):
    built, out = site
    pages = sorted(out.rglob("*.html"))
    assert len(pages) > len(built.run_ids) + 3
    for path in pages:
        watch.open(path)
        assert watch.problems == [], f"{path.relative_to(out)}: {watch.problems}"
        for url in watch.links():
            parsed = urlparse(url)
            assert parsed.scheme == "file", f"{path.relative_to(out)} links outside the site: {url}"
            target = Path(unquote(parsed.path))
            assert target.resolve().is_relative_to(out.resolve()), f"{path.relative_to(out)}: {url} leaves the site"
            assert target.is_file(), f"{path.relative_to(out)}: broken link {url}"


def test_index_screenshot_is_kept_and_shows_the_leaderboard(site, watch):
    _, out = site
    watch.open(out / "index.html")
    board = watch.page.locator("#leaderboard")
    assert board.is_visible()
    assert watch.page.locator("#leaderboard tbody tr").count() >= 3
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report-index.png"
    watch.page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_charts_and_viewed_figures_render_as_images(site, watch):
    built, out = site
    for path, selector in ((out / "trends.html", ".chart img"),
                           (out / "transcripts" / f"{built.image_task_id}.html", "img.figure")):
        watch.open(path)
        widths = watch.page.eval_on_selector_all(selector, "imgs => imgs.map(i => i.complete && i.naturalWidth)")
        assert widths and all(w > 0 for w in widths), f"{path.name}: images did not render: {widths}"
        assert watch.problems == []


def test_a_hostile_transcript_runs_no_script_and_reads_as_text(site, watch):
    built, out = site
    watch.open(out / "transcripts" / f"{built.hostile_task_id}.html")
    page = watch.page
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("script").count() == 0
    text = page.inner_text("main")
    assert HOSTILE_TEXT in text and HOSTILE_SCRIPT in text
    # The link the agent wrote is text, not an anchor: nothing to click.
    assert page.locator("a[href^='javascript']").count() == 0
    page.get_by_text("click me").first.click()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert watch.problems == []


EXAMPLE_SESSION = Path(__file__).resolve().parent.parent / "docs" / "examples" / "iris-lda.session.json"


@pytest.mark.docker
def test_a_real_run_of_the_engine_reports_and_its_transcript_reads_in_the_browser(tmp_path, watch, monkeypatch):
    """The whole path: `corebench run` (scripted model, real container) -> store -> `corebench report`."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    store = tmp_path / "results.sqlite"
    result = CliRunner().invoke(main, ["run", "--model", f"scripted:{EXAMPLE_SESSION}", "--scaffold", "core-agent",
                                       "--capsules", "iris-lda", "--level", "hard", "--quiet", "--store", str(store)])
    assert result.exit_code == 0, result.output
    out = render_site(store, tmp_path / "site")
    watch.open(out / "index.html")
    row = watch.page.locator("#leaderboard tbody tr").first
    assert "100.0%" in row.inner_text()
    assert "scripted:iris-lda.session" in row.inner_text()  # the session's name, not where it sits on disk
    assert str(EXAMPLE_SESSION.parent) not in watch.page.inner_text("body")
    row.locator("td.date a").click()
    watch.page.wait_for_load_state("load")
    assert "iris-lda" in watch.page.inner_text("#tasks")
    watch.page.get_by_role("link", name="transcript").first.click()
    watch.page.wait_for_load_state("load")
    text = watch.page.inner_text("main")
    assert "Rscript code/iris_lda.R" in text  # the command the agent ran, and its output
    assert "Task prompt" in text and "submitted" in text
    assert watch.page.locator("li.event.other").count() == 0  # every event type of the real scaffold is understood
    assert watch.problems == []
