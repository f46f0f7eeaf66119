"""Reports a researcher would publish, read from the built site on the fleet store (6 models x 3
scaffolds x 2 suites over 60 days): comparable leaderboards, the cost frontier, the per-task
heatmap, accuracy over time on a day axis, reviews with their authors, numbers without noise."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from corebench_runner.report.boards import efficient, upper_hull
from corebench_runner.report.data import slug
from corebench_runner.report.site import build_site
from corebench_runner.store.database import open_store
from corebench_runner.store.results import run_summary, task_details
from support_fleet import (
    BUNDLED,
    HOSTILE_REASON,
    SAME_DAY,
    SINGLE_RUN_MODEL,
    SUITE_CAPSULES,
    UNPRICED_MODEL,
    V11,
    build_fleet_store,
)
from support_report import HOSTILE_SCRIPT
from support_store import QA, SampleTask, add_run


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleet")
    fleet = build_fleet_store(root / "results.sqlite")
    build_site(fleet.store, root / "site")
    yield fleet, root / "site"
    fleet.store.close()


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def board(site: Path, suite: str, level: str, page: str = "index.html"):
    section = soup(site / page).select_one(f'section.suite[data-suite="{suite}"]')
    return section.select_one(f'section.board-section[data-level="{level}"]')


def ranked_rows(site: Path, suite: str, level: str):
    return board(site, suite, level).select("table.ranked tbody tr")


def latest_complete_runs(fleet, suite: str, level: str) -> dict[tuple[str, str], str]:
    """Independently of the report: the latest run of each agent that planned every capsule of the suite."""
    latest: dict[tuple[str, str], tuple[str, str]] = {}
    for run in fleet.store.query("SELECT id, model, scaffold, level, created FROM runs"):
        summary = run_summary(fleet.store, run["id"])
        capsules = {t["capsule_id"] for t in fleet.store.query("SELECT capsule_id FROM tasks WHERE run_id = ?",
                                                                 (run["id"],))}
        if summary.suite != suite or run["level"] != level or capsules != set(SUITE_CAPSULES[suite]):
            continue
        key = (run["model"], run["scaffold"])
        if key not in latest or run["created"] > latest[key][0]:
            latest[key] = (run["created"], run["id"])
    return {key: run_id for key, (_, run_id) in latest.items()}


def known_cost_per_task(fleet, run_id: str) -> float | None:
    """Known dollars per scored task (a lower bound when some prices are unknown); None when none is known."""
    costs = [t.cost_usd for t in task_details(fleet.store, run_id) if t.outcome != "skipped"]
    known = [c for c in costs if c is not None]
    return sum(known) / len(costs) if known else None


# ------------------------------------------------------------------ 1. comparable leaderboards

def test_one_leaderboard_per_suite_and_level_ranking_only_complete_runs_best_first(fleet):
    fleet, site = fleet
    sections = [(s["data-suite"], b["data-level"]) for s in soup(site / "index.html").select("#leaderboard section.suite")
                for b in s.select("section.board-section")]
    assert sections == [(V11, "easy"), (V11, "hard"), (BUNDLED, "hard")]
    for suite, level in sections:
        rows = ranked_rows(site, suite, level)
        expected = latest_complete_runs(fleet, suite, level)
        shown = {(r.select_one("td.model").get_text(strip=True), r.select_one("td.scaffold").get_text(strip=True)):
                 r["data-run"] for r in rows}
        assert shown == expected  # the latest complete run of each agent, and nothing else
        keys = []
        for rank, row in enumerate(rows, start=1):
            summary = run_summary(fleet.store, row["data-run"])
            assert row.select_one("td.rank").get_text(strip=True) == str(rank)
            assert row.select_one("td.coverage").get_text(strip=True) == f"{len(SUITE_CAPSULES[suite])}/" \
                                                                          f"{len(SUITE_CAPSULES[suite])} capsules"
            assert row.select_one("td.verified .acc").get_text() == f"{summary.verified_accuracy:.1%}"
            assert row.select_one("td.model a")["href"] == f"runs/{slug(row['data-run'])}.html"
            per_task = known_cost_per_task(fleet, row["data-run"])
            keys.append((-summary.verified_accuracy, math.inf if per_task is None else per_task))
        assert keys == sorted(keys, key=lambda k: (k[0], k[1]))  # verified accuracy, then cheaper first


def test_partial_runs_are_listed_apart_with_their_coverage_never_ranked(fleet):
    fleet, site = fleet
    hard = board(site, V11, "hard")
    ranked = {r["data-run"] for r in hard.select("table.ranked tbody tr")}
    partial = {r["data-run"]: r.select_one("td.coverage").get_text(strip=True)
               for r in hard.select("table.partial tbody tr")}
    assert set(fleet.partial_run_ids) <= set(partial) and not ranked & set(fleet.partial_run_ids)
    assert set(partial.values()) == {"3/8 capsules"}
    assert "not ranked" in hard.select_one("details.partial-runs summary").get_text()
    easy = {r["data-run"] for r in board(site, V11, "easy").select("table.ranked tbody tr")}
    assert easy == {fleet.easy_run_id} and fleet.easy_run_id not in ranked  # levels never share a table


# ------------------------------------------------------------------ 2. cost against accuracy

def test_cost_frontier_is_the_upper_hull_of_the_efficient_runs_and_unknown_costs_are_listed(fleet):
    fleet, site = fleet
    for suite, level in ((V11, "hard"), (BUNDLED, "hard")):
        section = board(site, suite, level)
        rows = section.select("table.ranked tbody tr")
        points, unknown = [], []
        for row in rows:
            summary = run_summary(fleet.store, row["data-run"])
            per_task = known_cost_per_task(fleet, row["data-run"])
            if per_task is None:
                assert summary.model == UNPRICED_MODEL
                unknown.append(row["data-run"])
                continue
            points.append((per_task, summary.verified_accuracy, row["data-run"]))
        # Brute force: efficient = no other run at least as accurate for less (or more accurate for the same).
        dominated = {p[2] for p in points for q in points
                     if q is not p and q[0] <= p[0] and q[1] >= p[1] and (q[0] < p[0] or q[1] > p[1])}
        frontier_links = [a["href"] for a in section.select("figure.frontier .frontier-list a")]
        on_frontier = [r["data-run"] for r in rows if "on-frontier" in (r.get("class") or [])]
        assert frontier_links and {f"runs/{slug(r)}.html" for r in on_frontier} == set(frontier_links)
        assert not set(on_frontier) & dominated
        by_link = {f"runs/{slug(p[2])}.html": p[0] for p in points}
        assert [by_link[link] for link in frontier_links] == sorted(by_link[link] for link in frontier_links)
        # Every efficient run lies on or under the drawn line (log cost axis): it is the upper hull.
        line = sorted((math.log10(p[0]), p[1]) for p in points if p[2] in on_frontier)
        for cost, accuracy, run_id in points:
            if run_id in dominated or run_id in on_frontier or not line[0][0] <= math.log10(cost) <= line[-1][0]:
                continue
            x = math.log10(cost)
            (x0, y0), (x1, y1) = next((a, b) for a, b in zip(line, line[1:]) if a[0] <= x <= b[0])
            assert accuracy <= y0 + (y1 - y0) * (x - x0) / (x1 - x0) + 1e-9
        listed = [a["href"] for a in section.select("p.unknown-cost a")]
        assert listed == [f"runs/{slug(r)}.html" for r in unknown] and unknown  # never dropped silently


def test_cost_chart_has_a_log_axis_with_dollar_ticks_and_a_numbered_point_per_priced_run(fleet):
    fleet, site = fleet
    section = board(site, V11, "hard")
    svg = ET.parse(site / section.select_one("figure.frontier img")["src"]).getroot()
    texts = [t.text or "" for t in svg.iter() if t.tag.endswith("text")]
    texts += [t.text or "" for t in svg.iter() if t.tag.endswith("tspan")]
    ticks = [t for t in texts if t.startswith("$")]
    assert len(set(ticks)) >= 3 and "$0.00" not in ticks
    assert all(re.fullmatch(r"\$\d+(\.\d+)?", t) for t in ticks), ticks
    priced = [r for r in section.select("table.ranked tbody tr") if "unknown" not in r.select_one("td.cost").get_text()]
    for row in priced:  # every priced run's rank is written beside its point
        assert row.select_one("td.rank").get_text(strip=True) in texts
    assert "cost per task (USD, log scale)" in texts and "Pareto frontier" in texts


def test_efficient_points_and_their_upper_hull_on_a_known_case():
    points = [(1.0, 0.7, "a"), (2.0, 0.4, "dominated"), (4.0, 0.75, "under"), (10.0, 0.9, "b"), (0.1, 0.1, "c")]
    assert [p[2] for p in efficient(points)] == ["c", "a", "under", "b"]
    assert [p[2] for p in upper_hull(efficient(points))] == ["c", "a", "b"]  # "under" lies below a-b on a log axis


# ------------------------------------------------------------------ 3. per-task heatmap

def test_heatmap_cells_are_the_share_of_repeats_verified_correct_and_link_to_transcripts(fleet):
    fleet, site = fleet
    section = board(site, V11, "hard", page="tasks.html")
    capsules = [th.get_text(strip=True) for th in section.select("thead th.capsule")]
    assert capsules == sorted(SUITE_CAPSULES[V11])
    agents = section.select("tr.agent")
    assert [r["data-run"] for r in agents] == [r["data-run"] for r in ranked_rows(site, V11, "hard")]
    solved_by = {c: 0 for c in capsules}
    for row in agents:
        tasks = task_details(fleet.store, row["data-run"])
        for cell in row.select("td.hm"):
            mine = [t for t in tasks if t.capsule_id == cell["data-capsule"]]
            correct = sum(t.verified_correct for t in mine)
            assert cell.get_text(strip=True) == f"{correct}/{len(mine)}"
            solved_by[cell["data-capsule"]] += correct > 0
            target = site / cell.a["href"]
            assert target.is_file()
            task_id = int(Path(cell.a["href"]).stem)
            if correct < len(mine):  # the link opens a failed repeat: what a reader wants to see
                assert task_id in {t.task_id for t in mine if not t.verified_correct}
    any_row = {td["data-capsule"]: td.get_text(strip=True) for td in section.select("tr.any-agent td")}
    assert any_row == {c: f"{solved_by[c]}/{len(agents)}" for c in capsules}
    unsolved = [td["data-capsule"] for td in section.select("tr.no-agent td") if td.get_text(strip=True)]
    assert unsolved == [c for c in capsules if solved_by[c] == 0] and "capsule-broken" in unsolved
    assert any(0 < int(td.get_text(strip=True).split("/")[0]) < int(td.get_text(strip=True).split("/")[1])
               for td in section.select("td.hm"))  # the repeats make partial shares


# ------------------------------------------------------------------ 4. accuracy over time

def _svg_texts(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    return [t.text for t in root.iter() if t.tag.endswith(("text", "tspan")) and t.text]


def test_time_axis_counts_days_and_two_runs_of_one_day_sit_on_that_day(fleet):
    fleet, site = fleet
    page = soup(site / "trends.html")
    section = page.select_one(f'section.suite[data-suite="{BUNDLED}"]')
    chart = next(c for c in section.select("section.chart") if c.h2.get_text(strip=True) == "anthropic:claude-sonnet-4-6")
    dates = [a.get_text(strip=True) for a in chart.select("tbody td:first-child a")]
    assert sum(d.startswith(SAME_DAY) for d in dates) == 2
    ticks = [t for t in _svg_texts(site / chart.img["src"]) if re.fullmatch(r"[A-Z][a-z]{2} \d{2}", t)]
    assert "Nov 03" in ticks and len(ticks) >= 3
    for src in (img["src"] for img in page.select(".chart img")):
        labels = _svg_texts(site / src)
        assert not [t for t in labels if re.fullmatch(r"\d{2}:\d{2}|\d{1,2}", t)], (src, labels)  # no hours


def test_a_model_with_one_run_is_a_point_and_a_number(fleet):
    fleet, site = fleet
    section = soup(site / "trends.html").select_one(f'section.suite[data-suite="{BUNDLED}"]')
    chart = next(c for c in section.select("section.chart") if c.h2.get_text(strip=True) == SINGLE_RUN_MODEL)
    summary = run_summary(fleet.store, fleet.single_run_id)
    assert chart.select_one(".single-run .big").get_text(strip=True) == f"{summary.verified_accuracy:.1%}"
    assert f"{summary.verified_accuracy:.0%}" in _svg_texts(site / chart.img["src"])  # labelled on its point


# ------------------------------------------------------------------ 5. reviews

def test_every_verdict_is_on_its_run_page_and_in_the_review_log_with_reviewer_time_and_reason(fleet):
    fleet, site = fleet
    log = soup(site / "reviews.html").select("#review-log tbody tr")
    assert len(log) == len(fleet.verdicts)
    by_answer = {int(r["data-answer"]): r for r in log}
    for verdict in fleet.verdicts:
        row = by_answer[verdict["answer_id"]]
        assert row.select_one("td.reviewer").get_text(strip=True) == verdict["reviewer"]
        assert row.select_one("td.reason").get_text(strip=True) == verdict["reason"].strip()
        assert row.select_one("td.date").get_text(strip=True) == verdict["created"][:10] + " 10:30 UTC"
        run_link = row.find("a")["href"]
        run_page = soup(site / run_link.split("#")[0])
        mine = run_page.select_one(f'#run-verdicts tr[data-answer="{verdict["answer_id"]}"]')
        assert mine.select_one("td.reviewer").get_text(strip=True) == verdict["reviewer"]
        assert verdict["reason"].strip() in mine.get_text()
        assert run_page.select_one("#verdicts") is not None
        assert run_page.select_one("dl.facts a.to-verdicts")["href"] == "#verdicts"


def test_verified_accuracy_on_the_leaderboard_links_to_the_verdicts_behind_it(fleet):
    _, site = fleet
    for row in ranked_rows(site, V11, "hard"):
        link = row.select_one("td.verified a.to-verdicts")["href"]
        page, fragment = link.split("#")
        assert fragment == "verdicts" and soup(site / page).find(id="verdicts") is not None


def test_reviews_and_new_pages_escape_what_agents_and_reviewers_wrote(fleet):
    fleet, site = fleet
    for page in ("index.html", "tasks.html", "trends.html", "reviews.html"):
        doc = soup(site / page)
        assert doc.find("script") is None, page
        assert not [t for t in doc.find_all(True) if any(a.lower().startswith("on") for a in t.attrs)], page
    log = soup(site / "reviews.html").get_text()
    assert HOSTILE_REASON in log and HOSTILE_SCRIPT in log
    assert "&lt;script&gt;" in (site / "reviews.html").read_text()


# ------------------------------------------------------------------ 7. numbers for people

def test_grader_reasons_lose_their_float_noise_and_show_the_interval_at_the_references_precision(tmp_path):
    noisy = "0.1 is outside the 95% prediction interval [0.09699999999999993, 0.0970000000000001] of 3 runs"
    with open_store(tmp_path / "results.sqlite") as store:
        run_id = add_run(store, [SampleTask("capsule-a", [
            QA("Report the error rate.", 0.1, [0.097, 0.097, 0.097], "incorrect", noisy),
            QA("Report the loss.", 0.30000000000000004, [0.3, 0.3, 0.3], "correct", "equal")])])
        build_site(store, tmp_path / "site")
        task_id = store.query("SELECT id FROM tasks WHERE run_id = ?", (run_id,))[0]["id"]
    # The task's own page holds its questions, values and the grader's reasons.
    text = soup(tmp_path / "site" / "runs" / slug(run_id) / f"{task_id}.html").select_one("#answers").get_text(" ")
    assert "[0.097, 0.097]" in text and "0.0969999" not in text and "0.097000000" not in text
    assert "0.30000000000000004" not in text and "0.3" in text
