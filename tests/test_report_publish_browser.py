"""The published reports in headless Chromium at 1280 px, on the fleet store: what a reader clicks
and sees. A screenshot per page type is kept in test-artifacts/ for a person to judge."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from corebench_runner.report.data import slug
from corebench_runner.report.site import build_site
from corebench_runner.store.results import run_summary
from support_browser import PageWatch, browser_marks
from support_fleet import BUNDLED, SINGLE_RUN_MODEL, UNPRICED_MODEL, V11, build_fleet_store

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
WIDTH = 1280

pytestmark = browser_marks


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleet-browser")
    fleet = build_fleet_store(root / "results.sqlite")
    build_site(fleet.store, root / "site")
    yield fleet, root / "site"
    fleet.store.close()


@pytest.fixture
def watch(browser):
    with PageWatch(browser) as page_watch:
        page_watch.page.set_viewport_size({"width": WIDTH, "height": 900})
        yield page_watch


def keep_screenshot(watch: PageWatch, name: str, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"report-{name}.png"
    watch.page.screenshot(path=str(shot), full_page=full_page)
    assert shot.stat().st_size > 10_000
    return shot


def images_render(watch: PageWatch, selector: str) -> list[int]:
    return watch.page.eval_on_selector_all(selector, "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")


def test_new_pages_load_cleanly_fit_1280_px_and_link_only_to_files_of_the_site(fleet, watch):
    _, site = fleet
    for name in ("index.html", "tasks.html", "trends.html", "reviews.html"):
        watch.open(site / name)
        assert watch.problems == [], (name, watch.problems)
        if name != "tasks.html":  # the heatmap scrolls inside its own box when a suite is wide
            assert watch.page.evaluate("document.documentElement.scrollWidth") <= WIDTH, name
        for url in watch.links():
            target = Path(unquote(urlparse(url).path))
            assert target.resolve().is_relative_to(site.resolve()) and target.is_file(), (name, url)


def test_leaderboard_answers_which_agent_is_best_at_what_cost(fleet, watch):
    fleet, site = fleet
    watch.open(site / "index.html")
    page = watch.page
    hard = page.locator(f'section.suite[data-suite="{V11}"] section.board-section[data-level="hard"]')
    first = hard.locator("table.ranked tbody tr").first
    run_id = first.get_attribute("data-run")
    summary = run_summary(fleet.store, run_id)
    assert first.locator("td.rank").inner_text().strip() == "1"
    assert f"{summary.verified_accuracy:.1%}" in first.locator("td.verified").inner_text()
    assert first.locator("td.coverage").inner_text() == "8/8 capsules"
    # Secondary numbers are folded: the row shows them once opened.
    assert not first.locator("td.more dl").is_visible()
    first.locator("td.more summary").click()
    assert "Tasks by outcome" in first.locator("td.more dl").inner_text()
    # The frontier chart renders, its runs are named under it, unknown costs are listed, not dropped.
    assert all(w > 0 for w in images_render(watch, "figure.frontier img"))
    assert hard.locator("figure.frontier .frontier-list a").count() >= 2
    assert UNPRICED_MODEL in hard.locator("p.unknown-cost").inner_text()
    keep_screenshot(watch, "leaderboard")
    first.locator("td.model a").click()
    page.wait_for_load_state("load")
    assert page.url.endswith(f"runs/{slug(run_id)}.html")
    assert summary.model in page.inner_text("dl.facts")


def test_verified_accuracy_leads_to_who_verified_the_answers(fleet, watch):
    fleet, site = fleet
    verdict = fleet.verdicts[0]
    run_id = fleet.store.query("SELECT t.run_id FROM answers a JOIN tasks t ON t.id = a.task_id WHERE a.id = ?",
                               (verdict["answer_id"],))[0]["run_id"]
    watch.open(site / "runs" / f"{slug(run_id)}.html")
    watch.page.locator("dl.facts a.to-verdicts").click()
    table = watch.page.locator("#run-verdicts")
    assert table.is_visible() and watch.page.url.endswith("#verdicts")
    row = table.locator(f'tr[data-answer="{verdict["answer_id"]}"]')
    assert verdict["reviewer"] in row.inner_text() and verdict["reason"].strip()[:30] in row.inner_text()
    keep_screenshot(watch, "run-verdicts", full_page=False)  # the window as the link left it
    watch.open(site / "reviews.html")
    assert watch.page.locator("#review-log tbody tr").count() == len(fleet.verdicts)
    assert watch.page.evaluate("typeof window.__pwned") == "undefined"  # a reason with markup stays text
    assert watch.page.locator("#review-log script").count() == 0
    keep_screenshot(watch, "review-log")


def test_heatmap_shows_where_agents_fail_and_a_cell_opens_its_transcript(fleet, watch):
    _, site = fleet
    watch.open(site / "tasks.html")
    hard = watch.page.locator(f'section.suite[data-suite="{V11}"] section.board-section[data-level="hard"]')
    assert "capsule-broken" in hard.locator("tr.no-agent").inner_text() or \
        hard.locator('tr.no-agent td[data-capsule="capsule-broken"] .unsolved').count() == 1
    assert hard.locator("tr.any-agent td").count() == 8
    keep_screenshot(watch, "heatmap")
    failed = hard.locator("tr.agent").first.locator("td.hm-0 a").first
    failed.click()
    watch.page.wait_for_load_state("load")
    assert "/transcripts/" in watch.page.url and "Transcript" in watch.page.inner_text("h1")
    assert watch.problems == []


def test_accuracy_over_time_charts_render_and_a_lone_run_is_a_number(fleet, watch):
    _, site = fleet
    watch.open(site / "trends.html")
    widths = images_render(watch, ".chart img")
    assert widths and all(w > 0 for w in widths)
    lone = watch.page.locator(f'section.suite[data-suite="{BUNDLED}"] section.chart',
                              has=watch.page.locator("h2", has_text=SINGLE_RUN_MODEL))
    assert "One run so far" in lone.locator(".single-run").inner_text()
    keep_screenshot(watch, "trends")


def test_numbers_read_as_people_write_them(fleet, watch):
    """No float noise anywhere a reader looks; a grader's interval at the reference's precision (0.912)."""
    fleet, site = fleet
    task = fleet.store.query("SELECT t.id, t.run_id FROM answers a JOIN tasks t ON t.id = a.task_id "
                             "WHERE a.reason LIKE '%0.9119999999999999%' ORDER BY t.id LIMIT 1")[0]
    watch.open(site / "runs" / f"{slug(task['run_id'])}.html")
    watch.page.click(f"#task-{task['id']} a.task-page")  # the task's own page holds the grader's reasons
    assert "[0.912, 0.912]" in watch.page.locator("#answers").inner_text()
    for name in ("index.html", "tasks.html", "trends.html", "reviews.html", f"runs/{slug(task['run_id'])}.html",
                 f"runs/{slug(task['run_id'])}/{task['id']}.html"):
        watch.open(site / name)
        assert not re.search(r"\d\.\d{9,}", watch.page.inner_text("main")), name
