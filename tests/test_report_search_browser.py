"""Transcript search on the static site, in Chromium: a query finds the event, agent text stays text,
and only the search page runs script (its own files from the site)."""

from __future__ import annotations

import random

import pytest
from bs4 import BeautifulSoup

from corebench_runner.report.site import build_site
from corebench_runner.store.database import open_store
from support_browser import PageWatch, browser_marks
from support_report import HOSTILE_SCRIPT, add_run

pytestmark = browser_marks


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("search")
    with open_store(folder / "results.sqlite") as store:
        add_run(store, random.Random(7), "run-search", model="anthropic:claude-haiku-4-5",
                created="2026-03-01T10:00:00+00:00", hostile_capsule="capsule-0002")
        build_site(store, folder / "site")
    return folder / "site"


@pytest.fixture
def watch(browser):
    with PageWatch(browser) as page_watch:
        yield page_watch


def test_a_query_finds_the_command_and_opens_its_event(site, watch):
    watch.open(site / "search.html")
    page = watch.page
    assert "events indexed" in page.inner_text("#search-status")
    page.fill("#search-box", "PYTHON code/main.py")  # case does not matter; every word must match
    results = page.locator("#search-results > li")
    assert results.count() >= 5  # one bash call per capsule with a transcript
    assert "python code/main.py" in results.first.inner_text()
    page.fill("#search-box", "python nothing-like-this")
    assert results.count() == 0 and page.inner_text("#search-status").startswith("0 matching")
    page.fill("#search-box", "accuracy capsule-0003")
    href = results.first.locator("a").get_attribute("href")
    page.locator("#search-results > li a").first.click()
    page.wait_for_load_state("load")
    assert page.url.endswith(href) and page.locator(f"#{href.split('#')[1]}").is_visible()
    assert watch.problems == []


def test_agent_text_found_by_search_stays_text(site, watch):
    watch.open(site / "search.html")
    page = watch.page
    page.fill("#search-box", "window.__pwned")
    assert page.locator("#search-results > li").count() >= 1
    assert HOSTILE_SCRIPT in page.inner_text("#search-results")  # shown as text...
    assert page.locator("#search-results script, #search-results img").count() == 0  # ...never as markup
    assert page.evaluate("typeof window.__pwned") == "undefined" and watch.problems == []


def test_only_the_search_page_allows_script_and_only_from_the_site(site):
    for page in site.rglob("*.html"):
        doc = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        policy = doc.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"]
        scripts = doc.find_all("script")
        if page.name == "search.html":
            assert policy.startswith("script-src 'self';")
            assert [s["src"] for s in scripts] == ["search/index.js", "static/search.js"]
            assert all(not s.string for s in scripts)  # nothing inline
        else:
            assert policy.startswith("script-src 'none';") and not scripts, page
    index = (site / "search" / "index.js").read_text(encoding="utf-8")
    assert index.startswith("window.corebenchSearchIndex = [") and "<" not in index
