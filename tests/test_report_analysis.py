"""The site's analysis pages: paired comparisons of ranked runs, and figures a paper can print (SVG + PDF, captioned)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from corebench_runner.report import boards as leaderboards
from corebench_runner.report.data import load_report_data
from corebench_runner.report.paired import compare
from corebench_runner.store.database import open_store
from support_report import add_run, report_site


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    built, out = report_site(tmp_path_factory.mktemp("compare"))
    yield built, out
    built.store.close()


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def test_every_pair_of_ranked_runs_is_in_the_grid_and_links_to_its_numbers(built):
    built, site = built
    page = soup(site / "compare.html")
    data = load_report_data(built.store)
    compared = 0
    for board in leaderboards.boards(data):
        section = page.find(id=f"board-{board.anchor}")
        assert section is not None, board.level
        ids = list(board.ranked["id"])
        pairs = section.select("section.pair")
        assert len(pairs) == len(ids) * (len(ids) - 1) // 2
        grid_links = [a["href"][1:] for a in section.select("table.compare-grid a")]
        assert sorted(grid_links) == sorted(p["id"] for p in pairs)
        if len(ids) < 2:
            assert "nothing to compare" in section.get_text()
            continue
        compared += 1
        # The page's numbers are the paired statistics of the store, the better-ranked run first.
        first = compare(data.tasks, ids[0], ids[1])
        text = section.find(id=f"pair-{ids[0]}-vs-{ids[1]}").get_text(" ", strip=True)
        assert f"{first.difference * 100:+.1f} points" in text
        assert f"{first.ci_low * 100:+.1f} to {first.ci_high * 100:+.1f}" in text
        assert f"{first.only_a} solved only by the first" in text and f"p = {first.mcnemar_p:.3g}" in text
        assert f"over {first.capsules} paired capsules" in text
    assert compared, "the test store has a board with two ranked runs"


def test_leaderboard_and_navigation_lead_to_the_comparisons(built):
    _, site = built
    index = soup(site / "index.html")
    assert index.select_one("nav.site-nav a[href='compare.html']") is not None
    links = [a["href"] for a in index.select("section.board-section h3 a") if "compare.html" in a["href"]]
    assert links and all(re.fullmatch(r"compare\.html#board-.+", href) for href in links)
    for href in links:
        assert soup(site / "compare.html").find(id=href.split("#")[1]) is not None


def test_trends_draw_every_model_on_one_chart_per_level_with_a_caption_and_pdf(built):
    built, site = built
    data = load_report_data(built.store)
    page = soup(site / "trends.html")
    figures = page.select("figure.all-models")
    levels = sorted({(s, lv) for s, lv in zip(data.runs["suite"], data.runs["level"])})
    assert len(figures) == len(levels)
    for figure in figures:
        level = figure["data-level"]
        suite = figure.find_parent("section", class_="suite")["data-suite"]
        runs = data.runs[data.runs["suite"].eq(suite) & data.runs["level"].eq(level)]
        svg = (site / figure.img["src"]).read_text(encoding="utf-8")
        for model in runs["model"].unique():  # the legend names each model (SVG text stays text)
            assert model.split(":")[-1] in svg, model
        caption = figure.figcaption.get_text(" ", strip=True)
        assert f"n = {len(runs)} run(s)" in caption and f"{int(runs['valid_tasks'].sum()):,} valid tasks" in caption
        assert f"suite {suite}" in caption and f"level {level}" in caption and "grader tolerant" in caption
        pdf = figure.find("a", string="PDF")["href"]
        assert (site / pdf).read_bytes().startswith(b"%PDF")


def test_every_chart_on_the_site_has_a_pdf_twin_and_rebuilding_gives_the_same_files(built, tmp_path):
    built, site = built
    svgs = sorted((site / "charts").glob("*.svg"))
    assert svgs
    for svg in svgs:
        assert svg.with_suffix(".pdf").is_file(), svg.name
    frontier = soup(site / "index.html").select_one("figure.frontier figcaption")
    assert "grader tolerant" in frontier.get_text() and frontier.find("a", string="PDF") is not None
    from corebench_runner.report.site import build_site

    again = tmp_path / "again"
    build_site(built.store, again)
    for svg in svgs:
        for twin in (svg, svg.with_suffix(".pdf")):
            assert (again / "charts" / twin.name).read_bytes() == twin.read_bytes(), twin.name


def test_a_rebuild_keeps_the_pdf_of_an_unchanged_chart_and_redraws_a_changed_one(tmp_path):
    from corebench_runner.report.site import build_site

    site = tmp_path / "site"
    with open_store(tmp_path / "results.sqlite") as store:
        add_run(store, random.Random(5), "run-haiku", model="anthropic:claude-haiku-4-5",
                created="2026-03-01T10:00:00+00:00", write_transcripts=False)
        build_site(store, site)
        [haiku] = (site / "charts").glob("accuracy-*haiku*.pdf")
        [trend] = (site / "charts").glob("trend-*.pdf")
        kept, trend_before = haiku.stat().st_mtime_ns, trend.read_bytes()
        add_run(store, random.Random(6), "run-mini", model="openai:gpt-4.1-mini",
                created="2026-03-02T10:00:00+00:00", write_transcripts=False)
        build_site(store, site)
        assert haiku.stat().st_mtime_ns == kept  # the same chart: its PDF is not written again
        assert trend.read_bytes() != trend_before and trend.read_bytes().startswith(b"%PDF")  # a new model drawn
        assert b"gpt-4.1-mini" in trend.with_suffix(".svg").read_bytes()
        haiku.unlink()  # a PDF gone while its SVG stays is written again
        build_site(store, site)
        assert haiku.read_bytes().startswith(b"%PDF")
