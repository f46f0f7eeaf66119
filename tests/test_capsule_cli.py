"""`capsule new`, `list` and `show` as a user types them."""

from __future__ import annotations

from pathlib import Path

import git
import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from support_capsules import write_capsule


def cli(args, suite: Path):
    return CliRunner().invoke(main, ["--suite", str(suite), *args])


@pytest.fixture
def upstream_repo(tmp_path: Path):
    """A real git repository with two commits; the capsule must pin the first."""
    repo_dir = tmp_path / "paper-code"
    repo = git.Repo.init(repo_dir)
    with repo.config_writer() as config:
        config.set_value("user", "name", "Tester")
        config.set_value("user", "email", "t@example.org")
    (repo_dir / "main.py").write_text("print('version one')\n")
    repo.index.add(["main.py"])
    first = repo.index.commit("first").hexsha
    (repo_dir / "main.py").write_text("print('version two')\n")
    repo.index.add(["main.py"])
    repo.index.commit("second")
    return repo_dir, first


def test_new_from_git_pins_the_commit(tmp_path: Path, upstream_repo):
    repo_dir, first = upstream_repo
    suite = tmp_path / "suite"
    suite.mkdir()
    result = cli(["capsule", "new", "my-paper", "--from-git", repo_dir.as_uri(), "--rev", first[:10]], suite)
    assert result.exit_code == 0, result.output
    folder = suite / "capsules" / "my-paper"
    assert (folder / "code" / "main.py").read_text() == "print('version one')\n"
    assert not (folder / "code" / ".git").exists()
    assert f'rev = "{first}"' in (folder / "capsule.toml").read_text()
    for part in ("data", "results", "environment/Dockerfile", "REPRODUCING.md"):
        assert (folder / part).exists()
    # The skeleton is deliberately incomplete: validate says what to fill in.
    check = cli(["capsule", "validate", "my-paper"], suite)
    assert check.exit_code == 2
    assert "questions" in check.output or "task_prompt" in check.output


def test_new_with_an_unknown_rev_is_one_clear_line(tmp_path: Path, upstream_repo):
    repo_dir, _ = upstream_repo
    result = cli(["capsule", "new", "x", "--from-git", repo_dir.as_uri(), "--rev", "deadbeef"], tmp_path)
    assert result.exit_code == 2
    assert result.output.startswith("error: --rev:")
    assert not (tmp_path / "capsules" / "x").exists()


def test_new_without_rev_is_refused(tmp_path: Path, upstream_repo):
    repo_dir, _ = upstream_repo
    result = cli(["capsule", "new", "x", "--from-git", repo_dir.as_uri()], tmp_path)
    assert result.exit_code == 2 and "--rev" in result.output


def test_new_from_dir_copies_into_code(tmp_path: Path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "analysis.R").write_text("summary(cars)\n")
    suite = tmp_path / "suite"
    suite.mkdir()
    result = cli(["capsule", "new", "cars", "--from-dir", str(source)], suite)
    assert result.exit_code == 0, result.output
    assert (suite / "capsules" / "cars" / "code" / "analysis.R").is_file()


def test_new_refuses_a_bad_name_and_an_existing_capsule(tmp_path: Path):
    source = tmp_path / "src"
    source.mkdir()
    assert "not a valid capsule id" in cli(["capsule", "new", "Bad Name", "--from-dir", str(source)], tmp_path).output
    assert cli(["capsule", "new", "ok", "--from-dir", str(source)], tmp_path).exit_code == 0
    again = cli(["capsule", "new", "ok", "--from-dir", str(source)], tmp_path)
    assert again.exit_code == 2 and "already exists" in again.output


def test_list_shows_a_table_and_flags_invalid_capsules(tmp_path: Path):
    write_capsule(tmp_path / "capsules", "tiny")
    broken = write_capsule(tmp_path / "capsules", "broken")
    (broken / "capsule.toml").write_text("id = ")
    result = cli(["capsule", "list"], tmp_path)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["id", "benchmark", "language", "gpu", "questions", "levels", "ok"]
    tiny = next(line for line in lines if line.startswith("tiny"))
    assert tiny.split()[:5] == ["tiny", "custom", "Python", "none", "3"] and "easy, medium, hard" in tiny
    assert "INVALID" in next(line for line in lines if line.startswith("broken"))


def test_show_lists_questions_with_their_runs(tmp_path: Path):
    write_capsule(tmp_path / "capsules", "tiny")
    result = cli(["capsule", "show", "tiny"], tmp_path)
    assert result.exit_code == 0
    assert "Q3 [vision] From the figure" in result.output
    assert "reference runs: 3.7333, 3.7333, 3.7333" in result.output


def test_suite_from_environment_variable(tmp_path: Path, monkeypatch):
    write_capsule(tmp_path / "capsules", "tiny")
    monkeypatch.setenv("COREBENCH_SUITE", str(tmp_path))
    result = CliRunner().invoke(main, ["capsule", "list"])
    assert "tiny" in result.output


def test_missing_suite_folder_names_the_flag(tmp_path: Path):
    result = CliRunner().invoke(main, ["--suite", str(tmp_path / "nope"), "capsule", "list"])
    assert result.exit_code == 2
