"""The CLI's small gaps, closed: `run --quiet` prints the run id, a refused run leaves no store, an
ambiguous run prefix says so, `runs` fits a terminal, and `show` gives whole reasons, the transcript's
path and (with --task ID --transcript) the transcript itself."""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.store.database import open_store
from support_report import add_run
from support_run import RIGHT, make_suite

SESSION = {"model": "scripted", "steps": [
    {"content": [{"type": "tool_use", "name": "bash", "input": {"command": "printf 'looked \\033]0;pwned\\007 here'"}}]},
    {"content": [{"type": "tool_use", "name": "submit", "input": {"answers": RIGHT}}]}]}


@pytest.fixture(scope="module")
def scripted_run(tmp_path_factory):
    """A real run of two tiny capsules: core-agent, a scripted session, the local sandbox, --quiet."""
    root = tmp_path_factory.mktemp("gaps")
    suite = make_suite(root / "suite", ["good-a", "good-b"])
    session = root / "session.json"
    session.write_text(json.dumps(SESSION))
    store = root / "results.sqlite"
    result = CliRunner().invoke(main, ["--suite", str(suite), "run", "--scaffold", "core-agent", "--model",
                                       f"scripted:{session}", "--sandbox", "local", "--all", "--quiet",
                                       "--store", str(store)])
    return result, store


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def test_run_quiet_prints_only_the_run_id(scripted_run):
    result, store = scripted_run
    assert result.exit_code == 0, result.output
    (run,) = json.loads(cli("runs", "--json", "--store", str(store)).output)
    assert result.output == run["id"] + "\n"


def test_show_task_transcript_prints_the_commands_and_the_submit_without_obeying_escapes(scripted_run):
    _, store = scripted_run
    (run,) = json.loads(cli("runs", "--json", "--store", str(store)).output)
    shown = cli("show", run["id"][:12], "--store", str(store))
    assert shown.exit_code == 0, shown.output
    assert "--task good-a#0 --transcript" in shown.output and "transcript.json" in shown.output
    result = cli("show", run["id"], "--task", "good-a", "--transcript", "--store", str(store))
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith("good-a #0: correct; transcript ")
    assert "$ printf" in text and "looked" in text and "here" in text
    assert "\x1b" not in text and "\\x1b]0;pwned" in text  # the escape is shown, not sent to the terminal
    assert "asks for submit" in text and "accepted" in text
    assert text.index("asks for bash") < text.index("$ printf") < text.index("asks for submit")


def test_show_task_errors_name_the_flag(scripted_run):
    _, store = scripted_run
    (run,) = json.loads(cli("runs", "--json", "--store", str(store)).output)
    missing = cli("show", run["id"], "--task", "iris-lad", "--transcript", "--store", str(store))
    assert missing.exit_code == 2 and "--task iris-lad: no such task" in missing.output
    assert "good-a, good-b" in missing.output
    alone = cli("show", run["id"], "--transcript", "--store", str(store))
    assert alone.exit_code == 2 and "add --task ID" in alone.output


def test_a_run_refused_before_it_starts_leaves_no_store(tmp_path):
    suite = make_suite(tmp_path / "suite", ["good-a"])
    store = tmp_path / "fresh.sqlite"
    result = cli("--suite", str(suite), "run", "--scaffold", "oracle", "--capsules", "no-such-capsule",
                 "--store", str(store))
    assert result.exit_code == 2, result.output
    assert "no-such-capsule" in result.output and "Traceback" not in result.output
    assert not store.exists() and list(tmp_path.glob("fresh*")) == []


@pytest.fixture
def store_of_runs(tmp_path):
    path = tmp_path / "results.sqlite"
    store = open_store(path)
    rng = random.Random(3)
    ids = ["20261130-081500-a1b2c3", "20261130-092000-d4e5f6"]
    for n, run_id in enumerate(ids):
        add_run(store, rng, run_id, model="anthropic:claude-opus-5-5", created=f"2026-11-30T0{8 + n}:15:00+00:00",
                capsules=["capsule-0001", "capsule-0002"])
    with store.transaction() as conn:  # a grader's long reason, as tolerant graders write them
        conn.execute("UPDATE answers SET reason = ? WHERE id = (SELECT MIN(id) FROM answers)",
                     ("the reported 0.91 is the reference 0.912 rounded to two places; " * 6 + "END-OF-REASON",))
    store.close()
    return path, ids


def test_an_ambiguous_run_prefix_says_so(store_of_runs):
    path, ids = store_of_runs
    result = cli("show", "2026", "--store", str(path))
    assert result.exit_code == 2
    assert "is ambiguous" in result.output and "2 runs start with it" in result.output
    assert ids[0] in result.output and "no run" not in result.output
    unknown = cli("show", "1999", "--store", str(path))
    assert unknown.exit_code == 2 and "no run '1999'" in unknown.output


def test_runs_fits_a_terminal_and_wide_has_every_column(store_of_runs):
    path, _ = store_of_runs
    narrow = cli("runs", "--store", str(path))
    assert narrow.exit_code == 0, narrow.output
    assert max(len(line) for line in narrow.output.splitlines()) <= 120
    assert "anthropic:claude-opus-5-5" in narrow.output and "verified" in narrow.output
    wide = cli("runs", "--wide", "--store", str(path))
    header = wide.output.splitlines()[0].split()
    assert {"suite", "reproduced", "reviewed", "infra"} <= set(header)


def test_show_prints_a_reason_whole(store_of_runs):
    path, ids = store_of_runs
    result = cli("show", ids[0], "--store", str(path))
    assert result.exit_code == 0, result.output
    assert "END-OF-REASON" in result.output
