"""The model x scaffold grid page: one grid per suite and level, cells with interval, cost and time, and the
effects of scaffold and model in words."""

from __future__ import annotations

import random

from bs4 import BeautifulSoup

from corebench_runner.store.database import open_store
from support_report import add_run, render_site

FIVE = [f"capsule-{n:04d}" for n in range(1, 6)]


def test_the_grid_shows_each_model_under_each_scaffold_with_its_effects(tmp_path):
    rng = random.Random(7)
    path = tmp_path / "results.sqlite"
    with open_store(path) as store:
        for model, scaffold, skill in (("anthropic:model-a", "core-agent", 0.0), ("anthropic:model-a", "claude-code", 1.0),
                                       ("anthropic:model-b", "core-agent", 1.0), ("anthropic:model-b", "claude-code", 1.0)):
            add_run(store, rng, f"{model}-{scaffold}", model=model, scaffold=scaffold, capsules=FIVE, skill=skill,
                    created="2026-11-20T10:00:00+00:00")
        add_run(store, rng, "easy-one", model="anthropic:model-a", scaffold="core-agent", capsules=FIVE, skill=1.0,
                level="easy", created="2026-11-20T11:00:00+00:00", repeats=3)
        add_run(store, rng, "a-person", model="none", scaffold="human", capsules=FIVE, skill=1.0,
                created="2026-11-20T12:00:00+00:00")
    page = BeautifulSoup((render_site(path, tmp_path / "site") / "grid.html").read_text(), "html.parser")
    grids = page.select("section.grid")
    assert sorted(g["data-level"] for g in grids) == ["easy", "hard"]  # levels never share a grid
    hard = next(g for g in grids if g["data-level"] == "hard")
    assert [th.text for th in hard.select("thead th")][1:] == ["claude-code", "core-agent"]  # no "human" column
    assert [tr["data-model"] for tr in hard.select("tbody tr")] == ["anthropic:model-a", "anthropic:model-b"]
    cell = hard.select_one('tr[data-model="anthropic:model-a"] td[data-scaffold="claude-code"]')
    assert cell.select_one("a.accuracy").text == "100%" and "/task" in cell.text and "s/task" in cell.text
    assert hard.select_one('tr[data-model="anthropic:model-a"] td[data-scaffold="core-agent"] a').text == "0%"
    effects = [li.text for li in hard.select("li")]
    assert "the same model, anthropic:model-a, gains 100 points moving from core-agent (0%) to claude-code (100%)" \
        in effects
    assert "the same model, anthropic:model-b, scores the same (100%) across 2 scaffolds" in effects
    assert "the same scaffold, core-agent, gains 100 points moving from anthropic:model-a (0%) to anthropic:model-b " \
        "(100%)" in effects
    easy = next(g for g in grids if g["data-level"] == "easy")
    assert "repeats" in easy.select_one("td").text  # the interval is over the run's repeats
