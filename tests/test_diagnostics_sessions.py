"""Diagnostics end to end: scripted agent sessions through the real engine.

Each session is a `--model scripted:FILE` script played by the local Messages API server to
core-agent over the real anthropic SDK; the agent's tools act in a real Docker container; the
engine grades, diagnoses and records to a real SQLite store; `corebench show` reads it back.
Each session stops at a different stage of the funnel.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.diagnostics.stored import run_diagnoses
from corebench_runner.diagnostics.summary import funnel
from corebench_runner.store.database import open_store
from support_capsules import good_capsule_doc, write_capsule
from support_messages import reply, text, tool_use, write_script

pytestmark = pytest.mark.docker

MEAN = "Report the mean petal length, rounded to 4 decimal places."
SPECIES = "Report the name of the species with the widest sepals."
CLUSTERS = "From the figure, report the number of clusters visible."
RIGHT = {MEAN: 3.7333, SPECIES: "setosa", CLUSTERS: 3}
RUN = "cd /workspace && python3 code/analysis.py"
READ = "cat /workspace/results/summary.json"
GIVE_UP = [reply(text("I cannot finish this.")) for _ in range(3)]  # core-agent reminds twice, then ends
BAD_INSTALL = ("pip install --break-system-packages --retries 0 --timeout 2 "
               "--index-url http://127.0.0.1:9/simple nosuchpkg-xyz")

SESSIONS = {
    # name: (capsule variant, steps, expected outcome, expected primary reason, stages reached)
    "install-fails": ("needs-pkg", [reply(tool_use("bash", command=BAD_INSTALL)), reply(tool_use("bash", command=RUN)),
                                    *GIVE_UP],
                      "no_report", "dependency_install_failed", []),
    "code-errors": ("crashes", [reply(tool_use("bash", command=RUN)),
                                reply(tool_use("submit", answers={**RIGHT, MEAN: 1.0}))],
                    "incorrect", "code_error", ["deps_installed", "report_written"]),
    "no-report": ("tiny", [reply(tool_use("bash", command=RUN)), *GIVE_UP],
                  "no_report", "no_report", ["deps_installed", "code_ran", "outputs_produced"]),
    "wrong-value": ("tiny", [reply(tool_use("bash", command=RUN)), reply(tool_use("bash", command=READ)),
                             reply(tool_use("submit", answers={**RIGHT, MEAN: 3.9}))],
                    "incorrect", "wrong_value", ["deps_installed", "code_ran", "outputs_produced", "report_written"]),
    "rounded": ("tiny", [reply(tool_use("bash", command=RUN)), reply(tool_use("bash", command=READ)),
                         reply(tool_use("submit", answers={**RIGHT, MEAN: 3.73}))],
                "disputed", "disputed_rounding", ["deps_installed", "code_ran", "outputs_produced", "report_written"]),
    "honest": ("tiny", [reply(tool_use("bash", command=RUN)), reply(tool_use("bash", command=READ)),
                        reply(tool_use("submit", answers=RIGHT))],
               "correct", None, ["deps_installed", "code_ran", "outputs_produced", "report_written",
                                 "answers_correct"]),
    "from-nowhere": ("tiny", [reply(tool_use("bash", command="ls /workspace")), reply(tool_use("submit", answers=RIGHT))],
                     "correct", None, ["deps_installed", "report_written", "answers_correct"]),
}


def _suite(root: Path) -> Path:
    for capsule_id in ("tiny", "needs-pkg", "crashes"):
        doc = good_capsule_doc(capsule_id)
        doc["resources"] = {"cpus": 1, "memory": "512m", "time_limit": 300}
        folder = write_capsule(root / "capsules", capsule_id, doc)
        code = folder / "code" / "analysis.py"
        if capsule_id == "needs-pkg":
            code.write_text("import nosuchpkg_xyz\n" + code.read_text())
        if capsule_id == "crashes":
            code.write_text("import json\nrows = []\nmean = sum(rows) / len(rows)\n")
    return root


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Run every session once (one run each, one shared store); returns (store path, {session: show json})."""
    root = tmp_path_factory.mktemp("sessions")
    suite = _suite(root / "suite")
    store = root / "results.sqlite"
    shown = {}
    for name, (capsule_id, steps, *_rest) in SESSIONS.items():
        script = write_script(root / f"{name}.json", steps)
        result = CliRunner().invoke(main, ["--suite", str(suite), "run", "--model", f"scripted:{script}",
                                           "--scaffold", "core-agent", "--capsules", capsule_id, "--level", "hard",
                                           "--store", str(store), "--quiet", "--timeout", "240"])
        assert result.exit_code == 0, result.output
        run_id = json.loads(CliRunner().invoke(main, ["runs", "--json", "--store", str(store)]).output)[0]["id"]
        show = CliRunner().invoke(main, ["show", run_id, "--json", "--store", str(store)])
        assert show.exit_code == 0, show.output
        shown[name] = json.loads(show.output)
    return store, shown


@pytest.mark.parametrize("name", list(SESSIONS))
def test_each_session_stops_at_its_stage_with_its_reason(recorded, name):
    _, shown = recorded
    _capsule, _steps, outcome, reason, reached = SESSIONS[name]
    task = shown[name]["tasks"][0]
    assert task["outcome"] == outcome, task
    assert [stage for stage, ok in task["stages"].items() if ok] == reached
    if reason is None:
        assert task["primary_reason"] is None
    else:
        assert task["primary_reason"]["code"] == reason, task["primary_reason"]


def test_reasons_carry_the_evidence_a_person_needs(recorded):
    _, shown = recorded
    install = shown["install-fails"]["tasks"][0]["primary_reason"]
    assert "nosuchpkg-xyz" in install["message"]
    assert install["evidence"]["command"] == BAD_INSTALL
    assert "nosuchpkg-xyz" in install["evidence"]["output_excerpt"]
    crash = shown["code-errors"]["tasks"][0]["primary_reason"]
    assert crash["message"].endswith("ZeroDivisionError: division by zero")
    assert crash["evidence"]["command"] == RUN


def test_an_agent_that_runs_nothing_is_flagged_and_queued_for_review(recorded):
    store, shown = recorded
    cheat, honest = shown["from-nowhere"], shown["honest"]
    flagged = {f["question"] for f in cheat["tasks"][0]["flags"] if f["code"] == "answer_from_nowhere"}
    assert {MEAN, SPECIES} <= flagged
    assert honest["tasks"][0]["flags"] == []
    assert cheat["run"]["accuracy"] == 1.0 and cheat["run"]["open_disputes"] == len(flagged)
    assert honest["run"]["open_disputes"] == 0
    listing = CliRunner().invoke(main, ["review", "list", "--store", str(store), "--run", cheat["run"]["id"],
                                             "--status", "disputed"])
    assert listing.exit_code == 0, listing.output
    assert MEAN[:30] in listing.output and SPECIES[:30] in listing.output
    trail = CliRunner().invoke(main, ["review", "log", "--store", str(store), "--run", cheat["run"]["id"]])
    assert "shortcut-monitor (monitor)" in trail.output and "never appeared in any" in " ".join(trail.output.split())


def test_show_prints_the_funnel_and_each_tasks_reason(recorded):
    store, shown = recorded
    output = CliRunner().invoke(main, ["show", shown["code-errors"]["run"]["id"], "--store", str(store)]).output
    assert re.search(r"^  capsule code ran cleanly +0/1 *$", output, re.M), output
    assert re.search(r"^  report written +1/1 +#+$", output, re.M), output
    assert "why: [code_error] the capsule's code failed: ZeroDivisionError: division by zero" in output
    with open_store(store) as opened:
        everything = [d for s in shown.values() for d in run_diagnoses(opened, s["run"]["id"]).values()]
    counts = {row.stage: row.reached for row in funnel(everything)}
    assert counts == {"deps_installed": 6, "code_ran": 4, "outputs_produced": 4, "report_written": 5,
                      "answers_correct": 2}


@pytest.mark.browser
def test_the_run_page_shows_the_funnel_reason_and_flags_in_a_browser(recorded, tmp_path):
    from support_browser import CHROMIUM, chromium_context
    from support_report import render_site

    if not Path(CHROMIUM).exists():
        pytest.skip("no chromium: run scripts/setup.sh (apt package chromium)")
    from corebench_runner.report.data import slug

    store, shown = recorded
    out = render_site(store, tmp_path / "site")
    with chromium_context(tmp_path / "chromium-profile") as browser:
        page = browser.new_page()
        page.goto((out / "runs" / f"{slug(shown['code-errors']['run']['id'])}.html").as_uri())
        rows = page.locator("#funnel tbody tr").all_inner_texts()
        assert [" ".join(r.split()) for r in rows] == [
            "dependencies installed 1 / 1", "capsule code ran cleanly 0 / 1", "expected outputs produced 0 / 1",
            "report written 1 / 1", "answers correct 0 / 1"]
        why = page.locator("#tasks .why").inner_text()
        assert "code error" in why and "ZeroDivisionError: division by zero" in why and RUN in why
        page.goto((out / "runs" / f"{slug(shown['from-nowhere']['run']['id'])}.html").as_uri())
        flags = page.locator("#tasks .shortcut-flag").all_inner_texts()
        assert any("answer from nowhere" in f and "3.7333" in f for f in flags), flags


def test_explain_asks_a_model_only_about_failed_tasks_and_records_its_cost(recorded, monkeypatch):
    from corebench_scripted.messages_api import MessagesServer
    from support_messages import PRICED_MODEL, TEST_KEY

    store, shown = recorded
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_KEY)
    summary = "The code divides by the length of an empty list; the agent should have read the data first."
    crashed, honest = shown["code-errors"]["run"]["id"], shown["honest"]["run"]["id"]
    with MessagesServer(api_key=TEST_KEY) as server:
        server.add(reply(text(summary)))
        args = ["--model", f"anthropic:{PRICED_MODEL}", "--base-url", server.url, "--store", str(store)]
        result = CliRunner().invoke(main, ["explain", crashed, *args])
        assert result.exit_code == 0, result.output
        assert summary in result.output
        sent = json.dumps(server.requests[0].body)
        assert "ZeroDivisionError: division by zero" in sent and "python3 code/analysis.py" in sent
        nothing = CliRunner().invoke(main, ["explain", honest, *args])
        assert nothing.exit_code == 2 and "no failed task" in nothing.output
        assert len(server.requests) == 1
    output = CliRunner().invoke(main, ["show", crashed, "--store", str(store)]).output
    assert f"summary (anthropic:{PRICED_MODEL}): {summary}" in output
    assert re.search(r"harness spending \(not the agent's cost\): explain 1 call\(s\), \d+ tokens, \$\d", output)
    shown = json.loads(CliRunner().invoke(main, ["show", crashed, "--store", str(store), "--json"]).output)
    [explained] = shown["run"]["harness_spending"]
    assert explained["command"] == "explain" and explained["calls"] == 1 and explained["cost_usd"] > 0
    with open_store(store) as opened:
        spent = opened.query("SELECT e.model, e.cost_usd FROM explain_calls e JOIN tasks t ON t.id = e.task_id "
                             "WHERE t.run_id = ?", (crashed,))
        agent = opened.query("SELECT u.id FROM usage u JOIN tasks t ON t.id = u.task_id "
                             "WHERE t.run_id = ? AND u.model = ?", (crashed, f"anthropic:{PRICED_MODEL}"))
    assert [row["model"] for row in spent] == [f"anthropic:{PRICED_MODEL}"] and spent[0]["cost_usd"] > 0
    assert agent == []  # the explanation's cost is the harness's: never in the agent's usage (nor HAL's totals)
