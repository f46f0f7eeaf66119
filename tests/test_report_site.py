"""The static site, read the way a person would: pages parsed with BeautifulSoup, links followed on disk."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlparse

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.report.data import load_report_data, slug
from corebench_runner.report.site import build_site
from corebench_runner.store.database import open_store
from corebench_runner.store.results import run_summary
from support_report import (
    HOSTILE_FILE,
    HOSTILE_IMG,
    HOSTILE_SCRIPT,
    HOSTILE_TEXT,
    MODELS,
    build_report_store,
    report_site,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    built, out = report_site(tmp_path_factory.mktemp("report"))
    yield built, out
    built.store.close()


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def local_targets(page: Path) -> list[tuple[str, Path]]:
    """Every link, image and stylesheet of a page as (reference, file it points to)."""
    doc = soup(page)
    refs = [a["href"] for a in doc.find_all("a", href=True)] + [i["src"] for i in doc.find_all("img", src=True)]
    refs += [link["href"] for link in doc.find_all("link", href=True)]
    return [(ref, (page.parent / urlparse(ref).path).resolve() if urlparse(ref).path else page.resolve())
            for ref in refs]


def test_every_page_exists_and_links_only_to_files_of_the_site(built):
    built, site = built
    pages = sorted(site.rglob("*.html"))
    names = {p.relative_to(site).as_posix() for p in pages}
    assert {"index.html", "trends.html", "capsules.html"} <= names
    for run_id in built.run_ids:
        assert f"runs/{slug(run_id)}.html" in names
    with_transcript = built.store.query("SELECT id FROM tasks WHERE transcript_path IS NOT NULL")
    assert {f"transcripts/{row['id']}.html" for row in with_transcript} <= names
    for page in pages:
        for ref, target in local_targets(page):
            assert urlparse(ref).scheme == "" and not ref.startswith("/"), f"{page}: non-local link {ref}"
            assert target.is_relative_to(site.resolve()), f"{page}: {ref} leaves the site"
            assert target.is_file(), f"{page}: broken link {ref}"
            fragment = urlparse(ref).fragment
            if fragment and target.suffix == ".html":  # an anchor must land on an element of that page
                assert soup(target).find(id=fragment) is not None, f"{page}: {ref} names no element"


def test_leaderboards_rank_complete_runs_per_level_by_verified_accuracy_then_cost_with_the_cli_numbers(built):
    built, site = built
    boards = soup(site / "index.html").select("#leaderboard section.board-section")
    assert sorted(b["data-level"] for b in boards) == ["easy", "hard"]  # levels are never ranked together
    for board in boards:
        rows = board.select("table.ranked tbody tr")
        level = board["data-level"]
        expected = built.store.query("SELECT model, scaffold, MAX(created) AS latest FROM runs WHERE level = ? "
                                     "GROUP BY model, scaffold", (level,))
        assert len(rows) == len(expected)
        ranked = []
        for rank, row in enumerate(rows, start=1):
            cells = row.find_all("td", recursive=False)
            assert cells[0].get_text(strip=True) == str(rank)
            run_id = row["data-run"]
            latest = built.store.query("SELECT id FROM runs WHERE model = ? AND scaffold = ? AND level = ? "
                                       "ORDER BY created DESC LIMIT 1", (cells[1].get_text(strip=True),
                                                                          cells[2].get_text(strip=True), level))
            assert run_id == latest[0]["id"]  # the latest run of each agent stands for it
            summary = run_summary(built.store, run_id)
            assert cells[3].select_one(".acc").get_text() == f"{summary.verified_accuracy:.1%}"
            assert cells[4].get_text(strip=True) == f"{summary.accuracy:.1%}"
            assert cells[1].a["href"] == f"runs/{slug(run_id)}.html"  # the model name links to the run
            if summary.infra_errors:  # infrastructure failures are shown, not hidden
                counts = [li.get_text(" ", strip=True) for li in row.select("td.more li")]
                assert f"infra error {summary.infra_errors}" in counts
            ranked.append(summary.verified_accuracy)
        assert ranked == sorted(ranked, reverse=True)


def test_reviews_change_verified_but_not_automatic_accuracy(built):
    built, site = built
    changed = [r for r in built.run_ids if run_summary(built.store, r).verified_correct != run_summary(built.store, r).correct]
    assert changed, "the test store must hold a run whose reviews changed its accuracy"
    page = soup(site / "runs" / f"{slug(changed[0])}.html")
    facts = page.select_one("dl.facts").get_text(" ", strip=True)
    summary = run_summary(built.store, changed[0])
    assert f"{summary.verified_correct} of {summary.valid_tasks} valid tasks" in facts
    assert f"{summary.correct} of {summary.scored} tasks" in facts


def test_per_task_verified_outcomes_agree_with_results_py(built):
    built, _ = built
    data = load_report_data(built.store)
    for run_id in built.run_ids:
        tasks = data.tasks[data.tasks["run_id"].eq(run_id)]
        assert int(tasks["verified_outcome"].eq("correct").sum()) == run_summary(built.store, run_id).verified_correct


def test_repeats_show_their_spread(built):
    built, site = built
    run_id = next(r for r in built.run_ids if r.endswith("x3"))
    facts = soup(site / "runs" / f"{slug(run_id)}.html").select_one("dl.facts").get_text(" ", strip=True)
    assert "over 3 repeats" in facts


def test_run_page_lists_every_task_with_question_verdicts_and_transcript_links(built):
    built, site = built
    run_id = built.run_ids[0]
    page = soup(site / "runs" / f"{slug(run_id)}.html")
    rows = page.select("#tasks > tbody > tr")
    tasks = built.store.query("SELECT * FROM tasks WHERE run_id = ?", (run_id,))
    assert len(rows) == len(tasks)
    for task in tasks:
        row = page.select_one(f"#task-{task['id']}")
        assert row.select_one("td").get_text(strip=True) == task["capsule_id"]
        answers = built.store.query("SELECT * FROM answers WHERE task_id = ?", (task["id"],))
        assert len(row.select("a.q")) == len(answers)  # one chip per question, each a link to its answer
        task_href = row.find("a", string="task")["href"]
        assert task_href == f"{slug(run_id)}/{task['id']}.html"
        task_page = soup(site / "runs" / task_href)
        assert len(task_page.select("table.answers tbody tr")) == len(answers)
        assert task_page.select_one("#transcript, a[href$='transcripts/%d.html']" % task["id"]) is not None
        link = row.find("a", string="transcript")
        assert link["href"] == f"../transcripts/{task['id']}.html"


def test_hostile_transcript_and_answers_render_as_text(built):
    built, site = built
    page_path = site / "transcripts" / f"{built.hostile_task_id}.html"
    html = page_path.read_text(encoding="utf-8")
    page = soup(page_path)
    assert page.find("script") is None
    assert not [tag for tag in page.find_all(True) if any(a.lower().startswith("on") for a in tag.attrs)]
    assert not [a for a in page.find_all("a", href=True) if a["href"].lower().startswith("javascript")]
    text = page.get_text()
    assert HOSTILE_TEXT in text and HOSTILE_SCRIPT in text and HOSTILE_FILE in text
    assert "&lt;script&gt;" in html
    assert "not shown: image/svg+xml is not PNG or JPEG" in text  # an SVG could carry script: never written
    assert not list((site / "transcripts" / "img").glob("*.svg"))
    run_id = built.store.query("SELECT run_id FROM tasks WHERE id = ?", (built.hostile_task_id,))[0]["run_id"]
    run_page = soup(site / "runs" / f"{slug(run_id)}.html")
    assert run_page.find("script") is None
    task_page = soup(site / "runs" / slug(run_id) / f"{built.hostile_task_id}.html")
    assert task_page.find("script") is None
    # Reported values show as JSON text, so a string and a number stay distinguishable.
    assert json.dumps(HOSTILE_IMG) in task_page.select_one("#answers").get_text()


def test_viewed_figures_are_written_as_png_files_next_to_the_transcript(built):
    built, site = built
    page = soup(site / "transcripts" / f"{built.image_task_id}.html")
    images = page.select("img.figure")
    assert len(images) == 1
    target = site / "transcripts" / images[0]["src"]
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_charts_are_svg_files_one_per_model_and_a_cost_frontier_per_leaderboard(built):
    built, site = built
    page = soup(site / "trends.html")
    sources = [img["src"] for img in page.select("section.chart img")]
    assert len(sources) == len(MODELS)
    frontiers = [img["src"] for img in soup(site / "index.html").select("figure.frontier img")]
    assert len(frontiers) == 2  # hard and easy
    for src in sources + frontiers:
        root = ET.parse(site / src).getroot()
        assert root.tag.endswith("svg")
    titles = [h.get_text() for h in page.select(".chart h2")]
    assert titles == sorted(MODELS)


def test_capsule_matrix_flags_a_capsule_no_model_passes(built):
    built, site = built
    rows = {row.th.get_text(strip=True): row for row in soup(site / "capsules.html").select("#capsule-matrix tbody tr")}
    capsules = {r["capsule_id"] for r in built.store.query("SELECT DISTINCT capsule_id FROM tasks")}
    assert set(rows) == capsules
    assert rows["capsule-broken"].select_one("td.flag").get_text(strip=True) == "never passes"
    assert not rows["capsule-broken"].select("td.cell.pass")


def test_results_csv_and_json_are_written_beside_the_site(built):
    built, site = built
    tasks = built.store.query("SELECT COUNT(*) AS n FROM tasks")[0]["n"]
    assert len((site / "results.csv").read_text().strip().splitlines()) == tasks + 1
    payload = json.loads((site / "results.json").read_text())
    assert len(payload["tasks"]) == tasks and len(payload["runs"]) == len(built.run_ids)


def test_missing_or_broken_transcripts_give_a_page_that_says_so(tmp_path):
    built = build_report_store(tmp_path / "results.sqlite")
    task = built.store.query("SELECT id, transcript_path FROM tasks WHERE transcript_path IS NOT NULL LIMIT 2")
    (built.store.artifacts_dir / task[0]["transcript_path"]).unlink()
    (built.store.artifacts_dir / task[1]["transcript_path"]).write_text("{not json")
    build_site(built.store, tmp_path / "site")
    assert "is missing from" in soup(tmp_path / "site" / "transcripts" / f"{task[0]['id']}.html").get_text()
    assert "is not valid JSON" in soup(tmp_path / "site" / "transcripts" / f"{task[1]['id']}.html").get_text()


def test_an_empty_store_builds_a_site_that_says_there_are_no_runs(tmp_path):
    with open_store(tmp_path / "empty.sqlite") as store:
        build_site(store, tmp_path / "site")
    assert "No runs yet" in soup(tmp_path / "site" / "index.html").get_text()


def test_rebuilding_drops_pages_of_runs_no_longer_in_the_store(tmp_path, built):
    built, _ = built
    site = tmp_path / "site"
    (site / "runs").mkdir(parents=True)
    (site / "runs" / "stale.html").write_text("old")
    build_site(built.store, site)
    assert not (site / "runs" / "stale.html").exists()


def test_user_templates_replace_bundled_ones(tmp_path, built):
    built, _ = built
    mine = tmp_path / "mine"
    (mine / "static").mkdir(parents=True)
    (mine / "_nav.html").write_text('<nav class="site-nav"><a href="{{ root }}index.html">Our lab</a></nav>\n')
    (mine / "static" / "site.css").write_text("body { background: #fdf6e3; }\n")
    result = CliRunner().invoke(main, ["report", "--out", str(tmp_path / "site"), "--store", str(built.store.path),
                                       "--templates", str(mine)])
    assert result.exit_code == 0, result.output
    assert soup(tmp_path / "site" / "index.html").select_one("nav").get_text(strip=True) == "Our lab"
    assert "#fdf6e3" in (tmp_path / "site" / "static" / "site.css").read_text()
    assert (tmp_path / "site" / "trends.html").is_file()  # everything else still comes from the bundle


def test_a_template_using_an_unknown_value_fails_with_one_line(tmp_path, built):
    built, _ = built
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "_nav.html").write_text("<nav>{{ no_such_value }}</nav>\n")
    result = CliRunner().invoke(main, ["report", "--out", str(tmp_path / "site"), "--store", str(built.store.path),
                                       "--templates", str(mine)])
    assert result.exit_code == 2
    assert "no_such_value" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_report_without_a_store_names_the_flag(tmp_path):
    result = CliRunner().invoke(main, ["report", "--out", str(tmp_path / "site"),
                                       "--store", str(tmp_path / "none.sqlite")])
    assert result.exit_code == 2
    assert "none.sqlite" in result.output and "--store" in result.output
    assert "Traceback" not in result.output


def test_cost_with_an_unknown_price_shows_as_a_lower_bound(built):
    built, site = built
    run_id = next(r for r in built.run_ids if "gpt" in r)
    assert run_summary(built.store, run_id).cost_usd is None  # one task's price is unknown
    row = next(tr for tr in soup(site / "index.html").select("#all-runs tbody tr")
               if tr.select_one("td.date a")["href"] == f"runs/{slug(run_id)}.html")
    assert row.find_all("td")[9].get_text(strip=True).startswith("≥")  # after the suite column
    facts = soup(site / "runs" / f"{slug(run_id)}.html").select_one("dl.facts").get_text(" ", strip=True)
    assert "price unknown for 1 task(s)" in facts


def test_a_run_still_in_progress_shows_its_pending_tasks_and_no_accuracy_yet(tmp_path):
    from corebench_runner.store.database import create_run

    with open_store(tmp_path / "results.sqlite") as store:
        create_run(store, "running-run", model="anthropic:claude-haiku-4-5", scaffold="core-agent",
                   scaffold_version="1.0", level="hard", grader="corebench", engine_version="0.1.0", host="h",
                   config={}, tasks=[("capsule-a", 0, "x"), ("capsule-b", 0, "y")])
        build_site(store, tmp_path / "site")
    index = soup(tmp_path / "site" / "index.html")
    assert not index.select("#leaderboard table.ranked tbody tr")  # a run still going is never ranked
    row = index.select_one("#leaderboard table.partial tbody tr")
    cells = row.find_all("td", recursive=False)
    assert cells[3].select_one(".acc").get_text() == "—"
    assert cells[7].get_text(strip=True) == "2/2 capsules, 2 tasks pending"
    assert [li.get_text(" ", strip=True) for li in row.select("td.more li")] == ["pending 2"]


def test_a_suites_own_reports_folder_restyles_the_site_without_flags(tmp_path, built):
    built, _ = built
    suite = tmp_path / "suite"
    (suite / "capsules").mkdir(parents=True)
    (suite / "reports").mkdir()
    (suite / "reports" / "_nav.html").write_text('<nav class="site-nav"><a href="{{ root }}index.html">Suite nav</a></nav>\n')
    result = CliRunner().invoke(main, ["--suite", str(suite), "report", "--out", str(tmp_path / "site"),
                                       "--store", str(built.store.path)])
    assert result.exit_code == 0, result.output
    assert soup(tmp_path / "site" / "capsules.html").select_one("nav").get_text(strip=True) == "Suite nav"


def test_an_out_folder_that_cannot_be_written_is_one_line(tmp_path, built):
    built, _ = built
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder should go")
    result = CliRunner().invoke(main, ["report", "--out", str(blocked / "site"), "--store", str(built.store.path)])
    assert result.exit_code == 2
    assert "--out" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
