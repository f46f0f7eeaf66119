"""The measures' pages in a real Chromium: the run page's reliability diagram and efficiency tables, the model x
scaffold grid and the people-and-agents page render with nothing broken in the console."""

from __future__ import annotations

import random

import pytest

from corebench_runner.report.data import slug
from corebench_runner.store.database import open_store
from support_browser import PageWatch, browser_marks, chromium_context
from support_report import add_run, render_site

pytestmark = browser_marks
FIVE = [f"capsule-{n:04d}" for n in range(1, 6)]


@pytest.fixture
def site(tmp_path):
    rng = random.Random(3)
    path = tmp_path / "results.sqlite"
    with open_store(path) as store:
        add_run(store, rng, "run-a", model="anthropic:model-a", scaffold="core-agent", capsules=FIVE, skill=0.6,
                created="2026-11-20T10:00:00+00:00")
        add_run(store, rng, "run-b", model="anthropic:model-a", scaffold="claude-code", capsules=FIVE, skill=0.9,
                created="2026-11-20T11:00:00+00:00")
        add_run(store, rng, "alice", model="none", scaffold="human", capsules=FIVE[:1], skill=1.0,
                created="2026-11-20T12:00:00+00:00")
        with store.transaction() as conn:  # confidences as an agent would have written them beside its reports
            conn.execute("UPDATE answers SET confidence = CASE status WHEN 'correct' THEN 0.8 ELSE 0.4 END "
                         "WHERE task_id IN (SELECT id FROM tasks WHERE run_id = 'run-a')")
    return render_site(path, tmp_path / "site")


def test_the_measures_pages_render_whole(site, tmp_path):
    with chromium_context(tmp_path / "profile") as context, PageWatch(context) as watch:
        watch.open(site / "runs" / f"{slug('run-a')}.html")
        diagram = watch.page.locator('img[alt^="Reliability diagram"]')
        assert diagram.count() == 1
        assert diagram.evaluate("img => img.complete && img.naturalWidth > 0")  # the SVG loaded and drew
        assert watch.page.locator("#calibration-scores").is_visible()
        assert watch.page.locator("#efficiency-phases tbody tr").count() == 6
        assert watch.problems == []
        watch.page.screenshot(path=str(tmp_path / "run.png"), full_page=True)

        watch.open(site / "grid.html")
        assert watch.page.locator("section.grid td[data-scaffold]").count() == 2
        assert "the same model, anthropic:model-a," in watch.page.locator("section.grid ul.effects").inner_text()
        assert watch.problems == []

        watch.open(site / "study.html")
        assert watch.page.locator("section.study table.sessions tbody tr").count() == 1
        assert watch.problems == []
