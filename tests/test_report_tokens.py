""""Tokens" means one thing on every page of the report: input plus output, with prompt-cache tokens
shown apart. One run with known usage is recorded through the store's own functions, the site is
built, and the pages are read as a person would (BeautifulSoup on the files)."""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup

from corebench_runner.records import Usage
from corebench_runner.report.data import slug
from corebench_runner.report.site import build_site
from corebench_runner.store.database import AnswerRecord, TaskRecord, claim_task, create_run, finish_task, open_store

# Two tasks; cache reads outnumber fresh input, as they do in agent loops.
USAGE = {"capsule-a": Usage(input_tokens=1_000, output_tokens=200, cache_creation_input_tokens=300,
                            cache_read_input_tokens=40_000, cost_usd=0.1, calls=4),
         "capsule-b": Usage(input_tokens=2_000, output_tokens=500, cache_creation_input_tokens=0,
                            cache_read_input_tokens=9_000, cost_usd=0.2, calls=3)}
IN_OUT = 1_000 + 200 + 2_000 + 500
CACHE = 300 + 40_000 + 9_000
LABEL = "Tokens (in + out)"


def _store_with_one_run(path: Path) -> tuple[object, str]:
    store = open_store(path)
    run_id = "run-tokens-0001"
    create_run(store, run_id, model="anthropic:claude-sonnet-4-6", scaffold="core-agent", scaffold_version="1",
               level="hard", grader="tolerant", engine_version="test", host="test-host", config={},
               tasks=[(capsule_id, 0, "0" * 64) for capsule_id in USAGE])
    for capsule_id, usage in USAGE.items():
        (task_id,) = store.conn.execute("SELECT id FROM tasks WHERE capsule_id = ?", (capsule_id,)).fetchone()
        claim_task(store, task_id)
        finish_task(store, task_id, TaskRecord(
            outcome="correct", model="anthropic:claude-sonnet-4-6", seconds=30.0, steps=4, usage=usage,
            answers=[AnswerRecord("Report the accuracy.", 0.9, True, [0.9, 0.9], False, "correct", "inside")]))
    with store.transaction() as conn:
        conn.execute("UPDATE runs SET status = 'finished', finished = created")
    return store, run_id


def _tokens_cell(cell) -> tuple[int, int]:
    """(tokens, cache tokens) as a cell reads: its first number, and the number before "cache" if any."""
    text = cell.get_text(" ", strip=True).replace(",", "")
    tokens = int(re.search(r"\d+", text).group())
    cache = re.search(r"(\d+) cache", text)
    return tokens, int(cache.group(1)) if cache else 0


def _tokens_label(labels) -> str:
    (label,) = [element for element in labels if "Tokens" in element.get_text()]
    return label


def _column(table) -> tuple[int, str]:
    headers = [th.get_text(" ", strip=True) for th in table.select("thead th")]
    (index,) = [i for i, text in enumerate(headers) if "Tokens" in text]
    return index, headers[index]


def test_the_leaderboard_the_run_list_and_the_run_page_count_tokens_alike(tmp_path: Path):
    store, run_id = _store_with_one_run(tmp_path / "results.sqlite")
    with store:
        site = tmp_path / "site"
        build_site(store, site)
    index = BeautifulSoup((site / "index.html").read_text(encoding="utf-8"), "html.parser")
    run_page = BeautifulSoup((site / "runs" / f"{slug(run_id)}.html").read_text(encoding="utf-8"), "html.parser")

    # The leaderboard row's details.
    row = index.select_one(f"table.ranked tr[data-run='{run_id}']")
    board_label = _tokens_label(row.select("dl.row-facts dt"))
    on_board = _tokens_cell(board_label.find_next_sibling("dd"))

    # The list of every run.
    runs_table = index.select_one("table#all-runs")
    list_column, list_label = _column(runs_table)
    in_list = _tokens_cell(runs_table.select("tbody tr")[0].find_all("td")[list_column])

    # The run page: its facts, and its tasks, which add up to the run.
    fact_label = _tokens_label(run_page.select("dl.facts dt"))
    in_facts = _tokens_cell(fact_label.find_next_sibling("dd"))
    tasks_table = run_page.select_one("table#tasks")
    task_column, task_label = _column(tasks_table)
    per_task = [_tokens_cell(tr.find_all("td", recursive=False)[task_column])
                for tr in tasks_table.select_one("tbody").find_all("tr", recursive=False)]
    summed = (sum(t for t, _ in per_task), sum(c for _, c in per_task))

    assert on_board == in_list == in_facts == summed == (IN_OUT, CACHE)
    # Every header says what is counted.
    assert {board_label.get_text(strip=True), list_label, fact_label.get_text(strip=True), task_label} == {LABEL}
