"""An answer or task id too large for SQLite (a hand-typed or hostile URL, a typo on the command line)
is a 404 in the web review and one line in the CLI, never a server error or a traceback."""

from __future__ import annotations

import requests
from click.testing import CliRunner

from corebench_runner.cli import main
from support_review_web import review_store, thread_server

HUGE = "9" * 40  # past SQLite's 64-bit integers


def test_a_huge_answer_id_is_a_404_in_the_web_review(tmp_path):
    store, ids = review_store(tmp_path / "results.sqlite")
    store.close()
    with thread_server(tmp_path / "results.sqlite", "alice") as url:
        assert requests.get(f"{url}answer/{ids.figure}", timeout=30).status_code == 200
        for method, path in (("GET", f"answer/{HUGE}"), ("POST", f"answer/{HUGE}/verdict"),
                             ("GET", f"viewed/{HUGE}/fig.png"), ("GET", f"answer/{2 ** 63}")):
            response = requests.request(method, url + path, data={"verdict": "correct"}, timeout=30)
            assert response.status_code == 404, (path, response.status_code)


def test_a_huge_answer_id_on_the_command_line_is_one_line(tmp_path):
    store, _ = review_store(tmp_path / "results.sqlite")
    store.close()
    for args in (["review", "--answer", HUGE], ["review", "reopen", HUGE, "--reason", "x"]):
        result = CliRunner().invoke(main, [*args, "--store", str(tmp_path / "results.sqlite")], input="q\n")
        assert result.exit_code == 2 and not isinstance(result.exception, OverflowError), result.output
        lines = [line for line in result.output.strip().splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: a number given is too large"), result.output
