"""The site of a store of 700 tasks (tests/support_big_store.py) in headless Chromium: verdicts say who made
them and pages count people apart from machines; the oracle is a ceiling, never ranked, never an agent; a run
page of 500 tasks reads as a summary and a short-row task table that sorts and filters, with a page per task."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from corebench_runner.report import boards as leaderboards
from corebench_runner.report.data import load_report_data, slug
from corebench_runner.report.paired import compare
from support_big_store import BIG_RUN, CAPSULES, FLAGGED, ORACLE_RUN, REPEATS, SECOND_RUN, SUITE, build_big_store
from support_browser import PageWatch, browser_marks
from support_report import render_site

pytestmark = browser_marks

# What a reader's eye follows down a table: top to bottom as drawn (CSS `order` moves rows, not the DOM).
VISIBLE_ROWS = """rows => rows.filter(r => r.offsetParent !== null)
    .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
    .map(r => ({id: r.id, kind: r.dataset.kind, flagged: r.dataset.flagged || "", height: r.getBoundingClientRect().height,
               verified: r.children[3].innerText.trim(), cost: r.children[5].innerText.trim()}))"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("big")
    built = build_big_store(root / "results.sqlite")
    out = render_site(built.store.path, root / "site")
    yield built, out
    built.store.close()


@pytest.fixture
def watch(browser):
    with PageWatch(browser) as page_watch:
        yield page_watch


def run_page(out: Path, run_id: str) -> Path:
    return out / "runs" / f"{slug(run_id)}.html"


def dollars(text: str) -> float:
    return float(text.replace("$", "").replace(",", ""))


def test_the_store_is_at_the_scale_suites_reach(site):
    built, _ = site
    assert built.tasks >= 500
    assert built.store.query("SELECT COUNT(*) AS n FROM tasks WHERE run_id = ?", (BIG_RUN,))[0]["n"] == 100 * REPEATS


# ----------------------------------------------------------------- 1. who made each verdict

def test_run_page_counts_people_verdicts_apart_from_the_monitors_flags(site, watch):
    built, out = site
    watch.open(run_page(out, BIG_RUN))
    page = watch.page
    assert watch.problems == []
    verified = " ".join(page.locator("#verified").inner_text().split())
    assert f"{built.people_rows} verdict(s) by people" in verified
    assert f"{built.machine_rows} flag(s) by machines" in verified
    assert f"{built.people_rows + built.machine_rows} verdict(s) by people" not in verified
    people_rows = page.locator("#run-verdicts tbody tr")
    assert people_rows.count() == built.people_rows and people_rows.first.is_visible()
    assert page.locator("#run-verdicts tbody tr[data-made-by='machine']").count() == 0
    # Machines' flags are folded under people's verdicts, and open on a click.
    machine = page.locator("#run-flags tbody tr[data-made-by='machine']")
    assert machine.count() == built.machine_rows and not machine.first.is_visible()
    page.locator("#run-flags-fold summary").click()
    assert machine.first.is_visible()
    assert all("shortcut monitor" in text for text in machine.all_inner_texts())
    people_labels = " ".join(page.locator("#run-verdicts tbody tr:not([data-made-by='machine']) .made-by")
                             .all_inner_texts())
    for label in ("a person", "a person on the review page", "triage accepted by a person", "imported"):
        assert label in people_labels


def test_review_log_says_who_made_every_row(site, watch):
    built, out = site
    watch.open(out / "reviews.html")
    lede = " ".join(watch.page.locator("p.lede").first.inner_text().split())
    assert f"{built.people_rows} verdict(s) by people, {built.machine_rows} flag(s) by machines" in lede
    assert watch.page.locator("#review-log tbody tr[data-made-by='machine']").count() == built.machine_rows
    assert watch.page.locator("#review-log tbody tr .made-by").count() == built.people_rows + built.machine_rows


# ----------------------------------------------------------------- 2. the oracle as a ceiling

def test_the_oracle_is_a_ceiling_never_ranked_nor_best(site, watch):
    _, out = site
    watch.open(out / "index.html")
    page = watch.page
    assert watch.problems == []
    ranked = page.locator("table.ranked tbody tr")
    assert [ranked.nth(i).get_attribute("data-run") for i in range(ranked.count())] == [BIG_RUN, SECOND_RUN]
    assert "oracle" not in page.locator(".headline").inner_text()
    ceiling = page.locator("table.ceiling tbody tr")
    assert ceiling.count() == 1 and ceiling.get_attribute("data-run") == ORACLE_RUN
    assert ceiling.locator("td.rank").inner_text() == "–"
    chart = page.locator("figure.frontier img")
    assert chart.evaluate("img => img.naturalWidth") > 0
    svg = (out / chart.get_attribute("src")).read_text(encoding="utf-8")
    assert "ceiling: oracle (100%)" in svg  # the line's legend entry; the oracle is no point on the chart
    # The list of every run marks the reference run as such, and no agent's run.
    page.locator("details.all-runs summary").click()
    marked = page.locator("#all-runs tbody tr[data-reference]")
    assert marked.count() == 1 and marked.locator(".tag.reference").is_visible()
    assert page.locator("#all-runs tbody tr:not([data-reference]) .tag.reference").count() == 0


def test_heatmap_shows_the_ceiling_apart_and_never_counts_it_as_an_agent(site, watch):
    _, out = site
    watch.open(out / "tasks.html")
    page = watch.page
    assert page.locator("tr.ceiling").count() == 1
    assert page.locator("tr.agent").count() == 2
    any_agent = page.locator("tr.any-agent td").all_inner_texts()
    assert any_agent and all(text.endswith("/2") for text in any_agent)
    # "No agent solves it" fires for every capsule both agents fail, though the oracle reaches each of them.
    shares = page.eval_on_selector_all("tr.agent td[data-capsule]", "cells => cells.map(c => [c.dataset.capsule, "
                                       "Number(c.dataset.share)])")
    solved = {capsule for capsule, share in shares if share > 0}
    capsules = {capsule for capsule, _ in shares}
    unsolved = set(page.eval_on_selector_all("tr.no-agent td .unsolved", "els => els.map(e => e.closest('td')"
                                             ".dataset.capsule)"))
    assert unsolved and unsolved == capsules - solved
    ceiling_cells = page.locator("tr.ceiling td[data-capsule]")
    assert ceiling_cells.count() == len(capsules)
    assert set(ceiling_cells.all_inner_texts()) == {"1/1"}


# ----------------------------------------------------------------- 3. a run page of 500 tasks

def test_a_500_task_run_page_opens_on_its_summary_with_one_short_row_per_task(site, watch):
    _, out = site
    watch.open(run_page(out, BIG_RUN))
    page = watch.page
    assert page.locator("#verified").is_visible() and page.locator("#verified").bounding_box()["y"] < 900
    rows = page.eval_on_selector_all("#tasks tbody tr", VISIBLE_ROWS)
    assert len(rows) == 100 * REPEATS
    heights = sorted(row["height"] for row in rows)
    assert heights[len(heights) // 2] <= 40, heights[len(heights) // 2]  # a typical row is one line
    assert heights[-1] <= 120, heights[-1]  # a flagged failing row: a few lines, never a whole answers table
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1400, width  # nothing squeezed off the side at the test window's width


def test_the_task_table_sorts_by_cost_both_ways(site, watch):
    _, out = site
    watch.open(run_page(out, BIG_RUN))
    page = watch.page
    page.click("label[for='sort-cost']")
    costs = [dollars(row["cost"]) for row in page.eval_on_selector_all("#tasks tbody tr", VISIBLE_ROWS)]
    assert len(costs) == 100 * REPEATS and costs == sorted(costs) and costs[0] < costs[-1]
    page.click("label[for='sort-descending']")
    costs = [dollars(row["cost"]) for row in page.eval_on_selector_all("#tasks tbody tr", VISIBLE_ROWS)]
    assert costs == sorted(costs, reverse=True)
    page.click("label[for='sort-verified']")
    page.click("label[for='sort-descending']")
    verified = [row["verified"] for row in page.eval_on_selector_all("#tasks tbody tr", VISIBLE_ROWS)]
    assert verified[0] == "disputed" and verified[-1] == "correct"  # what needs a look comes first


def test_the_task_table_filters_by_verified_outcome_and_by_flag(site, watch):
    _, out = site
    watch.open(run_page(out, BIG_RUN))
    page = watch.page
    label = page.locator("label[for='show-incorrect']").inner_text()
    expected = int(re.search(r"\((\d+)\)", label).group(1))
    page.click("label[for='show-incorrect']")
    rows = page.eval_on_selector_all("#tasks tbody tr", VISIBLE_ROWS)
    assert len(rows) == expected > 0 and {row["verified"] for row in rows} == {"incorrect"}
    page.click("label[for='show-flagged']")
    rows = page.eval_on_selector_all("#tasks tbody tr", VISIBLE_ROWS)
    assert len(rows) == FLAGGED and all(row["flagged"] == "yes" for row in rows)
    page.click("label[for='show-all']")
    assert len(page.eval_on_selector_all("#tasks tbody tr", VISIBLE_ROWS)) == 100 * REPEATS


def test_each_task_has_its_own_page_with_questions_evidence_flags_and_who_decided(site, watch):
    built, out = site
    watch.open(run_page(out, BIG_RUN))
    page = watch.page
    task_id = built.flagged_task_ids[0]
    page.click(f"#task-{task_id} a.task-page")
    page.wait_for_load_state("load")
    assert page.url.endswith(f"runs/{slug(BIG_RUN)}/{task_id}.html")
    assert watch.problems == []
    assert page.locator("#answers tbody tr").count() == 3
    flag = page.locator(".shortcut-flag").first.inner_text()
    assert "answer from nowhere" in flag and "$ python code/main.py" in flag
    makers = page.locator("#task-verdicts .made-by").all_inner_texts()
    assert "shortcut monitor" in makers
    assert page.locator("a", has_text="open the transcript").get_attribute("href") == f"../../transcripts/{task_id}.html"
    page.click("text=← run")
    page.wait_for_load_state("load")
    assert page.url.endswith(f"runs/{slug(BIG_RUN)}.html#task-{task_id}")


def test_capsule_matrix_flags_a_capsule_no_agent_passes_though_the_oracle_does(site, watch):
    _, out = site
    watch.open(out / "tasks.html")
    unsolved = set(watch.page.eval_on_selector_all("tr.no-agent td .unsolved",
                                                   "els => els.map(e => e.closest('td').dataset.capsule)"))
    watch.open(out / "capsules.html")
    rows = watch.page.eval_on_selector_all("table.matrix tbody tr", "rows => rows.map(r => "
                                           "[r.querySelector('th').innerText.trim(), r.querySelector('td.flag').innerText.trim()])")
    never = {capsule for capsule, flag in rows if flag == "never passes"}
    assert unsolved and never == unsolved


# ----------------------------------------------------------------- 2. the oracle as the trends' ceiling

def test_trends_draw_the_oracle_as_a_ceiling_line_never_as_a_model(site, watch):
    built, out = site
    watch.open(out / "trends.html")
    page = watch.page
    assert watch.problems == []
    figure = page.locator("figure.all-models")
    assert figure.count() == 1 and figure.locator("img").evaluate("img => img.naturalWidth") > 0
    svg = (out / figure.locator("img").get_attribute("src")).read_text(encoding="utf-8")
    assert "ceiling: oracle (100%)" in svg  # a dashed line named as the ceiling...
    assert "none / oracle" not in svg  # ...never a model's line in the legend
    assert "claude-sonnet-4-6 / core-agent" in svg and "gpt-4.1-mini / core-agent" in svg
    caption = " ".join(figure.locator("figcaption").inner_text().split())
    assert "n = 2 run(s) of 2 model(s)" in caption and "ceiling, oracle (100%)" in caption
    assert (out / figure.locator("a", has_text="PDF").get_attribute("href")).read_bytes().startswith(b"%PDF")
    assert figure.locator("a", has_text="SVG").get_attribute("href") == figure.locator("img").get_attribute("src")
    per_model = [h.strip() for h in page.locator("section.chart > h2").all_inner_texts()]
    assert len(per_model) == 2 and not any(name.lower() in ("none", "") for name in per_model)
    assert not list((out / "charts").glob("accuracy-*none*"))
    ceiling = page.locator("table.ceiling tbody tr")
    assert ceiling.count() == 1 and ceiling.get_attribute("data-run") == ORACLE_RUN


# ----------------------------------------------------------------- 5. transcripts with times, each event once

def test_a_transcript_of_the_big_run_shows_times_and_each_command_once(site, watch):
    built, out = site
    task_id = built.flagged_task_ids[0]
    watch.open(out / "transcripts" / f"{task_id}.html")
    page = watch.page
    assert watch.problems == []
    assert page.inner_text("main").count("python code/main.py") == 1  # not again in the model's block
    heads = page.locator("li.tool-call .event-head").all_inner_texts()
    assert any("3.2 s" in head and "+0:03" in head for head in heads), heads
    link = page.locator("li.model-call a.tag").first
    target = link.get_attribute("href").split("#")[1]
    link.click()
    assert page.locator(f"[id='{target}']").is_visible()


# ----------------------------------------------------------------- 6. a pair's interval and McNemar's test

def test_compare_page_pairs_the_two_agents_over_the_same_capsules(site, watch):
    built, out = site
    data = load_report_data(built.store)
    board = next(b for b in leaderboards.boards(data) if b.suite == SUITE)
    watch.open(out / "compare.html")
    page = watch.page
    assert watch.problems == []
    section = page.locator(f"[id='board-{board.anchor}']")
    assert section.locator("section.pair").count() == 1  # two ranked agents; the oracle is never paired
    result = compare(data.tasks, BIG_RUN, SECOND_RUN)
    section.locator("table.compare-grid a").first.click()
    pair = page.locator(f"[id='pair-{BIG_RUN}-vs-{SECOND_RUN}']")
    assert pair.is_visible()
    text = " ".join(pair.inner_text().split())
    assert f"{result.difference * 100:+.1f} points" in text
    assert f"{result.ci_low * 100:+.1f} to {result.ci_high * 100:+.1f}" in text
    assert f"p = {result.mcnemar_p:.3g}" in text and f"over {result.capsules} paired capsules" in text
    assert result.capsules == len(CAPSULES)


# ----------------------------------------------------------------- 7. search and token analytics at scale

def test_search_finds_a_command_in_500_transcripts_and_opens_it(site, watch):
    _, out = site
    watch.open(out / "search.html")
    page = watch.page
    assert watch.problems == []
    page.fill("#search-box", "python code/main.py")
    status = page.inner_text("#search-status")
    assert status.startswith(f"{100 * REPEATS} matching events"), status  # one command per transcript
    results = page.locator("#search-results > li")
    assert results.count() == 200 and "python code/main.py" in results.first.inner_text()  # the first 200 shown
    href = results.first.locator("a").get_attribute("href")
    results.first.locator("a").click()
    page.wait_for_load_state("load")
    assert page.url.endswith(href) and page.locator(f"[id='{href.split('#')[1]}']").is_visible()


def test_the_500_task_run_page_shows_its_tokens_and_steps(site, watch):
    _, out = site
    watch.open(run_page(out, BIG_RUN))
    assert watch.page.locator("table.analytics").is_visible()
    rows = dict(watch.page.eval_on_selector_all(
        "table.analytics tr", "rows => rows.map(r => [r.cells[0].textContent.trim(), r.cells[1].textContent.trim()])"))
    tasks = 100 * REPEATS
    assert rows["Tasks with a transcript"] == str(tasks), rows
    assert rows["Model calls"] == f"{2 * tasks:,}" and rows["Shell commands"] == str(tasks)
    assert rows["Tasks that ran the capsule's code"] == f"{tasks} of {tasks}"
