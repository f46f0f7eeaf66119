"""The plugin registry and the suite where the user works, through the CLI as a user types it.

Built-ins come from corebench-runner's own entry points (the editable install this test runs from);
a suite's own graders/ override them by name; an unknown name lists every plugin and its origin.
tests/test_install.py does the same from a real wheel in a fresh venv, with a third party's package.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner import __version__
from corebench_runner.cli import main, suite_option_first

TASKS = [{"capsule_id": "capsule-demo", "results": [{"Report the accuracy.": 0.9412}, {"Report the accuracy.": 0.9412}]}]
ANSWERS = [{"capsule_id": "capsule-demo", "report": {"Report the accuracy.": 0.5}}]
OVERRIDING_GRADER = '''\
from corebench_runner.records import Verdict, VerdictStatus


class Generous:
    name = "corebench"
    version = "9.9"

    def grade(self, question, reported, *, reported_present=True):
        return Verdict(VerdictStatus.CORRECT, "the suite's own corebench grader")


GRADER = Generous()
'''


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    result = cli("suite", "init", str(tmp_path / "my-suite"))
    assert result.exit_code == 0, result.output
    return tmp_path / "my-suite"


def test_suite_init_makes_the_folders_and_a_readme_and_refuses_a_second_time(suite, tmp_path):
    assert sorted(p.name for p in suite.iterdir()) == ["README.md", "capsules", "graders", "reports", "scaffolds"]
    assert "corebench capsule new" in (suite / "README.md").read_text()
    again = cli("suite", "init", str(suite))
    assert again.exit_code == 2 and "is a suite already" in again.output
    (tmp_path / "a-file").write_text("x")
    onto_a_file = cli("suite", "init", str(tmp_path / "a-file"))
    assert onto_a_file.exit_code != 0 and "Traceback" not in onto_a_file.output


def test_the_bundled_suite_is_reachable_by_name_from_any_folder_and_is_read_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COREBENCH_SUITE", raising=False)
    listed = cli("capsule", "list", "--suite", "bundled")  # typed after the command, as users do
    assert listed.exit_code == 0, listed.output
    assert "iris-lda" in listed.output and "longley-nist" in listed.output
    written = cli("--suite", "bundled", "capsule", "new", "mine", "--from-dir", str(tmp_path))
    assert written.exit_code == 2
    assert "bundled suite is read-only" in written.output and "corebench suite init" in written.output
    assert not (tmp_path / "capsules").exists()


def test_the_suite_option_is_moved_before_the_command_and_nothing_else_moves():
    assert suite_option_first(["run", "--capsules", "a", "--suite", "bundled"]) == [
        "--suite", "bundled", "run", "--capsules", "a"]
    assert suite_option_first(["report", "--suite=x", "--out", "site"]) == ["--suite=x", "report", "--out", "site"]
    assert suite_option_first(["run", "--", "--suite", "x"]) == ["run", "--", "--suite", "x"]


def test_every_built_in_plugin_is_listed_with_its_kind_version_and_origin():
    listed = json.loads(cli("plugins", "--json").output)
    built_in = {(p["kind"], p["name"]) for p in listed if p["origin"] == "built in"}
    assert {("scaffold", "oracle"), ("scaffold", "core-agent"), ("grader", "corebench"),
            ("grader", "tolerant-v1.1"), ("sandbox", "docker"), ("sandbox", "local"), ("sandbox", "podman"),
            ("model provider", "anthropic"), ("model provider", "scripted"), ("executor", "ray")} <= built_in
    assert all(p["version"] for p in listed)


def test_a_suite_grader_overrides_the_built_in_of_the_same_name(suite, tmp_path):
    (suite / "graders" / "corebench.py").write_text(OVERRIDING_GRADER)
    listed = json.loads(cli("--suite", str(suite), "plugins", "--json").output)
    corebench = [p for p in listed if p["kind"] == "grader" and p["name"] == "corebench"]
    assert [(p["origin"], p["active"], p["version"]) for p in corebench] == [
        ("suite", True, "9.9"), ("built in", False, __version__)]
    table = cli("--suite", str(suite), "plugins").output
    assert "overridden by suite file" in table

    (tmp_path / "tasks.json").write_text(json.dumps(TASKS))
    (tmp_path / "answers.json").write_text(json.dumps(ANSWERS))
    graded = cli("--suite", str(suite), "grade", "--grader", "corebench", "--tasks", str(tmp_path / "tasks.json"),
                 "--answers", str(tmp_path / "answers.json"), "--json")
    assert json.loads(graded.output)[0]["questions"][0]["reason"] == "the suite's own corebench grader"
    official = cli("grade", "--suite", "bundled", "--grader", "corebench", "--tasks", str(tmp_path / "tasks.json"),
                   "--answers", str(tmp_path / "answers.json"), "--json")
    assert json.loads(official.output)[0]["task_correct"] is False  # elsewhere the built-in grades as upstream


def test_an_unknown_name_lists_every_plugin_of_its_kind_and_where_each_came_from(suite):
    (suite / "graders" / "mine.py").write_text(OVERRIDING_GRADER.replace('"corebench"', '"mine"'))
    result = cli("--suite", str(suite), "grade", "--grader", "lenient", "--tasks", "x.json", "--answers", "y.json")
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert "unknown grader 'lenient'; choose one of:" in result.output
    assert f"mine (suite file {suite.resolve() / 'graders' / 'mine.py'})" in result.output
    assert "tolerant (built in)" in result.output and "entry point group corebench.graders" in result.output

    model = cli("--suite", "bundled", "run", "--model", "nosuch:thing", "--scaffold", "core-agent",
                "--capsules", "iris-lda")
    assert model.exit_code == 2
    assert "unknown model provider 'nosuch'" in model.output and "anthropic (built in)" in model.output

    sandbox = cli("--suite", "bundled", "run", "--sandbox", "kubernetes", "--scaffold", "oracle", "--capsules",
                  "iris-lda")
    assert sandbox.exit_code == 2
    assert "unknown sandbox 'kubernetes'" in sandbox.output
    assert "docker (built in), local (built in), podman (built in)" in sandbox.output


def test_version_names_the_commit_when_run_from_a_checkout():
    root = Path(__file__).resolve().parents[1]
    commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    result = cli("--version")
    assert result.exit_code == 0
    assert result.output.startswith("corebench 0.") and f"(commit {commit}" in result.output
