"""The site's paired comparisons page: every two ranked runs of a board, with the paired numbers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from corebench_runner.report import boards as leaderboards
from corebench_runner.report.data import load_report_data
from corebench_runner.report.paired import compare
from support_report import report_site


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
