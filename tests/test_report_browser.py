"""The built site in a real browser: headless Chromium (Debian's), driven over the DevTools protocol
by playwright. Every page loads without console errors or failed requests, every link lands on a
file of the site, figures and charts really render, and a hostile transcript runs no script."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from support_report import HOSTILE_SCRIPT, HOSTILE_TEXT, build_report_store

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# Flags from the brief: headless as root, nothing reaching out on its own.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no chromium: run scripts/setup.sh (apt package chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    built = build_report_store(root / "results.sqlite")
    out = root / "site"
    result = CliRunner().invoke(main, ["report", "--out", str(out), "--store", str(built.store.path)])
    assert result.exit_code == 0, result.output
    yield built, out
    built.store.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as playwright:
        # A persistent context is how playwright takes a fresh --user-data-dir of our own.
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900})
        yield context
        context.close()


class PageWatch:
    """Opens a page and records what a person would see go wrong in the developer console."""

    def __init__(self, context) -> None:
        self.page = context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed request: {r.url}"))

    def open(self, path: Path) -> None:
        self.problems.clear()
        self.page.goto(path.as_uri(), wait_until="load")

    def links(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "a[href], img[src], link[href]", "els => els.map(e => e.href || e.src)")

    def close(self) -> None:
        self.page.close()


def test_every_page_loads_cleanly_and_links_only_to_existing_files_of_the_site(site, browser):
    built, out = site
    pages = sorted(out.rglob("*.html"))
    assert len(pages) > len(built.run_ids) + 3
    watch = PageWatch(browser)
    try:
        for path in pages:
            watch.open(path)
            assert watch.problems == [], f"{path.relative_to(out)}: {watch.problems}"
            for url in watch.links():
                parsed = urlparse(url)
                assert parsed.scheme == "file", f"{path.relative_to(out)} links outside the site: {url}"
                target = Path(unquote(parsed.path))
                assert target.resolve().is_relative_to(out.resolve()), f"{path.relative_to(out)}: {url} leaves the site"
                assert target.is_file(), f"{path.relative_to(out)}: broken link {url}"
    finally:
        watch.close()


def test_index_screenshot_is_kept_and_shows_the_leaderboard(site, browser):
    _, out = site
    watch = PageWatch(browser)
    try:
        watch.open(out / "index.html")
        board = watch.page.locator("#leaderboard")
        assert board.is_visible()
        assert watch.page.locator("#leaderboard tbody tr").count() >= 3
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "report-index.png"
        watch.page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    finally:
        watch.close()


def test_charts_and_viewed_figures_render_as_images(site, browser):
    built, out = site
    watch = PageWatch(browser)
    try:
        for path, selector in ((out / "trends.html", ".chart img"),
                               (out / "transcripts" / f"{built.image_task_id}.html", "img.figure")):
            watch.open(path)
            widths = watch.page.eval_on_selector_all(selector, "imgs => imgs.map(i => i.complete && i.naturalWidth)")
            assert widths and all(w > 0 for w in widths), f"{path.name}: images did not render: {widths}"
            assert watch.problems == []
    finally:
        watch.close()


def test_a_hostile_transcript_runs_no_script_and_reads_as_text(site, browser):
    built, out = site
    watch = PageWatch(browser)
    try:
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
    finally:
        watch.close()


EXAMPLE_SESSION = Path(__file__).resolve().parent.parent / "docs" / "examples" / "iris-lda.session.json"


@pytest.mark.docker
def test_a_real_run_of_the_engine_reports_and_its_transcript_reads_in_the_browser(tmp_path, browser, monkeypatch):
    """The whole path: `corebench run` (scripted model, real container) -> store -> `corebench report`."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    store = tmp_path / "results.sqlite"
    result = CliRunner().invoke(main, ["run", "--model", f"scripted:{EXAMPLE_SESSION}", "--scaffold", "core-agent",
                                       "--capsules", "iris-lda", "--level", "hard", "--quiet", "--store", str(store)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "site"
    result = CliRunner().invoke(main, ["report", "--out", str(out), "--store", str(store)])
    assert result.exit_code == 0, result.output
    watch = PageWatch(browser)
    try:
        watch.open(out / "index.html")
        row = watch.page.locator("#leaderboard tbody tr").first
        assert "100.0%" in row.inner_text()
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
    finally:
        watch.close()
