"""Review at speed in headless Chromium: identical answers settled with one key press, j / k to move, no key
firing while typing, and a task set aside (then reinstated) from the answer page; the terminal commands then
show the verdicts, the set-aside and the numbers."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.store.database import open_store
from support_browser import browser_marks, chromium_context
from support_review_web import thread_server
from support_store import ACCURACY_Q, BEST_Q, QA, SampleTask, add_run

pytestmark = browser_marks
MAINLINE = "core-bench 1.1 mainline"
ROUNDED = QA(ACCURACY_Q, 0.93, [0.9312] * 3, "disputed", "0.93 equals the references rounded to 2 decimals")


@pytest.fixture
def browser(tmp_path_factory):
    with chromium_context(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


def speed_store(path):
    """Three repeats answer 0.93 (identical), a fourth task has a broken reference."""
    store = open_store(path)
    add_run(store, [SampleTask("acc", [ROUNDED], repeat=r) for r in range(3)]
            + [SampleTask("opt", [QA(BEST_Q, "adam", ["Adam W"] * 3, "disputed", "close")])],
            run_id="run-speed", benchmark=MAINLINE)
    ids = [row[0] for row in store.query("SELECT answers.id FROM answers JOIN tasks ON tasks.id = answers.task_id "
                                         "ORDER BY tasks.capsule_id, tasks.repeat")]
    store.close()
    return ids


def corebench(*args: str):
    return CliRunner().invoke(main, list(args))


def test_identical_answers_are_settled_by_one_key_press_and_keys_wait_while_typing(tmp_path, browser):
    path = tmp_path / "results.sqlite"
    acc0, acc1, acc2, opt = speed_store(path)
    problems: list[str] = []
    with thread_server(path, "alice") as url:
        page = browser.new_page()
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(url, wait_until="load")
        assert page.inner_text("#answers").count("3 identical answers") == 3  # each repeat's row says so
        page.goto(f"{url}answer/{acc0}", wait_until="load")
        assert "3 identical answers" in page.inner_text("#identical")
        assert "j next" in page.inner_text("footer") or "or j next" in page.inner_text("footer")

        # j / k move through the queue; the identical answers stay listed on each of them.
        page.keyboard.press("j")
        page.wait_for_url(f"**/answer/{acc1}*")
        page.keyboard.press("k")
        page.wait_for_url(f"**/answer/{acc0}*")

        # Typing c, i, s, j in the reason gives no verdict and goes nowhere.
        page.click("#reason")
        page.keyboard.type("cisjk: 0.9312 rounded to 2 decimals")
        assert page.url.split("?")[0].endswith(f"/answer/{acc0}")
        assert page.input_value("#reason") == "cisjk: 0.9312 rounded to 2 decimals"
        page.keyboard.press("Escape")
        page.keyboard.press("c")  # the reason is there: c posts at once
        page.wait_for_url(f"**/answer/{opt}*")
        assert (f"answer {acc0}: disputed → correct, recorded by alice; applied to 3 identical answers"
                in page.inner_text(".notice"))
        page.goto(url, wait_until="load")
        assert "1 open" in page.inner_text("#counts")
        assert problems == []

    log = corebench("review", "log", "--store", str(path)).output
    assert log.count("alice (cli)") == 3 and log.count("cisjk: 0.9312 rounded") == 3


def test_a_task_is_set_aside_from_the_answer_page_with_a_reason_and_reinstated(tmp_path, browser):
    path = tmp_path / "results.sqlite"
    *_, opt = speed_store(path)
    with thread_server(path, "alice") as url:
        page = browser.new_page()
        page.goto(f"{url}answer/{opt}", wait_until="load")
        assert MAINLINE in page.inner_text("#set-aside")
        page.check("input[name=scope][value=task]")
        page.click("#set-aside-button")  # no reason: the browser asks for one, nothing is posted
        assert page.url.split("?")[0].endswith(f"/answer/{opt}") and "set aside by" not in page.content()
        page.fill("#aside-reason", "the reference names an optimizer the paper never ran")
        page.click("#set-aside-button")
        page.wait_for_selector(".notice")
        assert f"set aside: opt: the whole task in '{MAINLINE}', recorded by alice" in page.inner_text(".notice")
        assert "This whole task is set aside" in page.inner_text("#set-aside")
        page.goto(url, wait_until="load")  # set aside, it leaves the queue
        assert "opt" not in page.inner_text("#answers") and "3 open" in page.inner_text("#counts")
        assert "0 of 3 valid tasks, 1 set aside" in page.inner_text("#runs") and "1 of 4" in page.inner_text("#runs")
        page.goto(f"{url}answer/{opt}", wait_until="load")

        shown = json.loads(corebench("show", "run-speed", "--store", str(path), "--json").output)["run"]
        assert [(s["capsule_id"], s["reason"]) for s in shown["set_asides"]] == [
            ("opt", "the reference names an optimizer the paper never ran")]
        assert (shown["valid_tasks"], shown["accuracy"]) == (3, 0.0)

        page.fill(".reinstate input[name=reason]", "the appendix runs it")
        page.click(".reinstate button")
        page.wait_for_selector(".notice")
        assert "reinstated: opt: the whole task" in page.inner_text(".notice")
        assert page.locator("#set-aside-form").count() == 1

        # A post without the session's token records nothing.
        response = page.request.post(f"{url}answer/{opt}/set-aside",
                                     form={"token": "forged", "scope": "task", "reason": "x"})
        assert response.status == 403
    assert "Nothing is set aside." in corebench("review", "set-asides", "--store", str(path)).output
