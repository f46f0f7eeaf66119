"""Each level's workspace, file by file; no reference answer ever reaches a workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corebench_runner.capsules.format import load_capsule
from corebench_runner.capsules.levels import prepare
from corebench_runner.capsules.suite import BUNDLED_SUITE, Suite
from corebench_runner.errors import UserError
from support_capsules import write_capsule

EXPECTED_FILES = {
    "easy": {"code/analysis.py", "data/petals.csv", "results/summary.json"},
    "medium": {"code/analysis.py", "code/run.sh", "code/run", "data/petals.csv", "environment/Dockerfile",
               "REPRODUCING.md"},
    "hard": {"code/analysis.py", "data/petals.csv"},
}


def files_of(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def capsule(tmp_path: Path):
    return load_capsule(write_capsule(tmp_path / "capsules"))


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_workspace_holds_exactly_the_levels_files(capsule, tmp_path: Path, level: str):
    workspace = prepare(capsule, level, tmp_path / f"ws-{level}")
    assert files_of(workspace.path) == EXPECTED_FILES[level]
    assert (workspace.path / "results").is_dir()  # results/ always exists, empty unless easy
    assert not (workspace.path / "capsule.toml").exists()


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_prompt_names_the_report_and_every_question(capsule, tmp_path: Path, level: str):
    task = prepare(capsule, level, tmp_path / "ws").task
    assert "/workspace/report.json" in task.prompt
    for question in capsule.questions:
        assert question.text in task.prompt
    assert task.questions == tuple(q.text for q in capsule.questions)
    assert task.vision_questions == ("From the figure, report the number of clusters visible.",)


def test_an_unprivileged_agent_is_told_it_cannot_apt_get(tmp_path: Path):
    folder = write_capsule(tmp_path / "capsules")
    root_prompt = prepare(load_capsule(folder), "hard", tmp_path / "ws-root").task.prompt
    toml = folder / "capsule.toml"
    toml.write_text('agent_user = "agent"\n' + toml.read_text())
    capsule = load_capsule(folder)
    assert capsule.agent_user == "agent"
    prompt = prepare(capsule, "hard", tmp_path / "ws-agent").task.prompt
    assert "unprivileged" in prompt and "apt-get" in prompt and "unprivileged" not in root_prompt


def test_task_spec_carries_no_reference_value(capsule, tmp_path: Path):
    task = prepare(capsule, "hard", tmp_path / "ws").task
    text = json.dumps(task.__dict__, default=lambda o: o.__dict__)
    assert "3.7333" not in text and "setosa" not in text.lower().replace("widest_species", "")


def test_non_empty_destination_is_refused(capsule, tmp_path: Path):
    dest = tmp_path / "ws"
    dest.mkdir()
    (dest / "left-over").write_text("x")
    with pytest.raises(UserError, match="not empty"):
        prepare(capsule, "hard", dest)


def test_unknown_level_names_the_flag(capsule, tmp_path: Path):
    with pytest.raises(UserError, match="--level"):
        prepare(capsule, "expert", tmp_path / "ws")


def distinctive(value) -> list[str]:
    """String forms of a reference value that would give it away if found in a file."""
    if isinstance(value, bool):
        return []
    if isinstance(value, float):
        forms = {repr(value)}
        return [f for f in forms if len(f.replace("-", "").replace(".", "")) >= 4]
    if isinstance(value, int):
        return [str(value)] if abs(value) >= 1000 else []
    if isinstance(value, str):
        return [value] if len(value) >= 4 else []
    if isinstance(value, list):
        return [json.dumps(value)] if len(value) > 1 else []
    return []


def leaks(workspace: Path, capsule, skip_results: bool) -> list[str]:
    found = []
    for path in workspace.rglob("*"):
        if not path.is_file() or (skip_results and path.relative_to(workspace).parts[0] == "results"):
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        for question in capsule.questions:
            for value in question.runs:
                for form in distinctive(value):
                    if form in text:
                        found.append(f"{path.relative_to(workspace)} contains {form!r} ({question.text[:40]})")
    return found


def all_capsules():
    suite = Suite(BUNDLED_SUITE)
    return [suite.load(cid) for cid in suite.capsule_ids()]


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_no_reference_value_in_any_workspace_of_the_bundled_suite(tmp_path: Path, level: str):
    capsules = [c for c in all_capsules() if level in c.supported_levels()]
    for capsule in capsules:
        workspace = prepare(capsule, level, tmp_path / capsule.id).path
        # easy keeps results/ by design (upstream's easy level answers from them)
        assert leaks(workspace, capsule, skip_results=(level == "easy")) == []
        assert not (workspace / "capsule.toml").exists()


def test_the_grep_finds_a_planted_answer(capsule, tmp_path: Path):
    """The leak check itself must be able to fail."""
    workspace = prepare(capsule, "hard", tmp_path / "ws").path
    (workspace / "code" / "notes.txt").write_text("the answer is 3.7333")
    assert leaks(workspace, capsule, skip_results=False)
