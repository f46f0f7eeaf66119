"""The bundled suite: every capsule validates, prepares at every level, and the oracle reproduces it.

The end-to-end test runs each capsule through the real path: levels.prepare, the capsule's
environment image, a Docker sandbox with the workspace copied in, the oracle scaffold, and the
official CORE-Bench grader. Each environment image is built once per capsule (they are one
line on top of our base images), so the whole suite at three levels takes a few minutes.
"""

from __future__ import annotations

import re
import secrets
import statistics
from pathlib import Path

import docker
import pytest
from click.testing import CliRunner

from corebench_runner.capsules.format import LEVELS, RUN_SCRIPTS, parse_capsule
from corebench_runner.capsules.levels import prepare
from corebench_runner.capsules.plugins import load_plugin
from corebench_runner.capsules.suite import BUNDLED_SUITE, Suite
from corebench_runner.cli import main as cli
from corebench_runner.grading.loop import grade_report
from corebench_runner.images import BASE_IMAGES, environment_image
from corebench_runner.records import Limits
from corebench_runner.sandbox.base import SandboxSpec
from corebench_runner.sandbox.docker.sandbox import DockerSandbox

SUITE = Suite(BUNDLED_SUITE)
CAPSULE_IDS = SUITE.capsule_ids()
UPSTREAM_FIELDS = {"Computer Science", "Social Sciences", "Medical Sciences"}
BASE_TAGS = {image.tag for image in BASE_IMAGES.values()}
OFFICIAL = load_plugin("graders", "corebench")
ORACLE = load_plugin("scaffolds", "oracle")


def _capsules():
    return [SUITE.load(cid) for cid in CAPSULE_IDS]


def _is_stochastic(capsule) -> bool:
    return any(len(set(map(repr, q.runs))) > 1 for q in capsule.questions)


# ---------------------------------------------------------------- the suite as a whole

def test_the_suite_has_at_least_twelve_capsules_in_the_promised_mix():
    capsules = _capsules()
    assert len(capsules) >= 12, CAPSULE_IDS
    languages = {c.language for c in capsules}
    assert {"Python", "R"} <= languages
    assert {c.field for c in capsules} == UPSTREAM_FIELDS
    stochastic = [c.id for c in capsules if _is_stochastic(c)]
    assert len(stochastic) >= 2, "want at least two capsules whose reference runs really differ"
    with_figures = [c.id for c in capsules if any(q.vision for q in c.questions)]
    assert len(with_figures) >= 2, with_figures


def test_capsule_list_shows_every_capsule_with_all_three_levels():
    result = CliRunner().invoke(cli, ["--suite", str(BUNDLED_SUITE), "capsule", "list"])
    assert result.exit_code == 0, result.output
    for capsule_id in CAPSULE_IDS:
        line = next(line for line in result.output.splitlines() if line.startswith(capsule_id + " "))
        assert "easy, medium, hard" in line, line
    assert f"{len(CAPSULE_IDS)} capsule(s)" in result.output


def test_capsule_validate_all_passes_without_warnings():
    result = CliRunner().invoke(cli, ["--suite", str(BUNDLED_SUITE), "capsule", "validate", "--all"])
    assert result.exit_code == 0, result.output
    assert "error:" not in result.output and "warning:" not in result.output, result.output
    assert result.output.count("ok: ") == len(CAPSULE_IDS)


# ---------------------------------------------------------------- each capsule on disk

@pytest.mark.parametrize("capsule_id", CAPSULE_IDS)
def test_capsule_is_complete_and_cites_its_source(capsule_id):
    capsule, problems = parse_capsule(SUITE.capsule_dir(capsule_id))
    assert capsule is not None and problems == [], [p.line() for p in problems]
    folder = capsule.path
    assert capsule.paper.citation and (capsule.paper.doi or capsule.paper.url)
    assert capsule.paper.year and capsule.paper.authors
    for name in ("code", "data", "results"):
        assert any(p.is_file() for p in (folder / name).rglob("*")), f"{name}/ is empty"
    assert (folder / "REPRODUCING.md").read_text().strip()
    parents = re.findall(r"^FROM\s+(\S+)", capsule.dockerfile.read_text(), flags=re.MULTILINE)
    assert parents and set(parents) <= BASE_TAGS, parents
    assert capsule.reproduce and not any(script in capsule.reproduce for script in RUN_SCRIPTS)
    assert all(q.extract for q in capsule.questions), "every question needs an extract rule for the oracle"
    assert all(len(q.runs) >= 3 for q in capsule.questions)


@pytest.mark.parametrize("capsule_id", CAPSULE_IDS)
def test_figure_questions_are_vision_questions_with_a_figure_in_results(capsule_id):
    capsule = SUITE.load(capsule_id)
    for question in capsule.questions:
        if "fig" in question.text.lower():
            assert question.vision
            assert list((capsule.path / "results").glob("*.png")), "a figure question needs the figure"


@pytest.mark.parametrize("capsule_id", CAPSULE_IDS)
def test_the_reference_answer_of_the_first_run_grades_correct(capsule_id):
    """The oracle writes numbers at the recorded precision; the official rule must accept them."""
    capsule = SUITE.load(capsule_id)
    for question in capsule.questions:
        verdict = OFFICIAL.grade(question, question.runs[0])
        assert verdict.status.value == "correct", (question.text, verdict.reason)


@pytest.mark.parametrize("capsule_id", [c.id for c in _capsules() if _is_stochastic(c)])
def test_stochastic_reference_runs_give_a_real_interval(capsule_id):
    capsule = SUITE.load(capsule_id)
    for question in capsule.questions:
        values = [float(v) for v in question.runs]
        if len(set(values)) == 1:
            continue
        spread = statistics.stdev(values)
        assert spread > 0
        # A value one spread away from every run is still inside the 95% prediction interval.
        assert OFFICIAL.grade(question, max(values) + spread).status.value == "correct"
        assert OFFICIAL.grade(question, max(values) + 20 * spread).status.value == "incorrect"


@pytest.mark.parametrize("capsule_id", CAPSULE_IDS)
@pytest.mark.parametrize("level", LEVELS)
def test_each_level_keeps_what_the_reproduce_command_needs(capsule_id, level, tmp_path):
    capsule = SUITE.load(capsule_id)
    workspace = prepare(capsule, level, tmp_path / "ws").path
    scripts = re.findall(r"code/\S+", capsule.reproduce)
    assert scripts and all((workspace / script).is_file() for script in scripts), f"{scripts} missing at {level}"
    assert any((workspace / "data").iterdir())
    assert not (workspace / "capsule.toml").exists()
    assert (workspace / "REPRODUCING.md").exists() == (level == "medium")
    assert (workspace / "code" / "run.sh").exists() == (level == "medium")
    results = [p for p in (workspace / "results").rglob("*") if p.is_file()]
    assert bool(results) == (level == "easy")


# ---------------------------------------------------------------- the oracle, end to end

def _containers_of(run_id: str) -> list:
    return docker.from_env().containers.list(all=True, filters={"label": f"corebench.run={run_id}"})


def _oracle_misses(capsule, image: str, level: str, run_id: str, folder: Path) -> dict[str, str]:
    """Run the oracle at one level in a fresh container; return {question: reason} for each wrong answer."""
    workspace = prepare(capsule, level, folder)
    spec = SandboxSpec(image=image, cpus=capsule.resources.cpus, memory=capsule.resources.memory,
                       pids_limit=capsule.resources.pids, labels={"corebench.run": run_id, "corebench.task": level})
    with DockerSandbox(spec) as sandbox:
        sandbox.copy_in(workspace.path, workspace.task.workspace_dir)
        submission = ORACLE.run(workspace.task, sandbox, None, Limits(wall_seconds=float(capsule.resources.time_limit)))
        assert submission.error is None, f"{level}: {submission.error}"
        report = sandbox.read_file(workspace.task.report_path)
    assert report.strip().startswith(b"{")
    assert set(submission.answers) == {q.text for q in capsule.questions}, f"{level}: not every question answered"
    graded = grade_report(OFFICIAL, capsule.questions, submission.answers)
    return {g.question: g.reason for g in graded.grades if g.status.value != "correct"}


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("capsule_id", CAPSULE_IDS)
def test_the_oracle_reproduces_the_capsule_at_every_level(capsule_id, tmp_path: Path):
    """Deterministic answers must match at once. A fresh run of a stochastic answer falls outside
    the official 95% prediction interval now and then by construction (about 1 run in 50 for
    digits-mlp, measured), so a level whose only misses are stochastic answers gets one more run."""
    capsule = SUITE.load(capsule_id)
    image = environment_image(capsule, log_dir=tmp_path / "build")
    run_id = f"test-suite-{secrets.token_hex(4)}"
    stochastic = {q.text for q in capsule.questions if len(set(map(repr, q.runs))) > 1}
    wrong: dict[str, dict[str, str]] = {}
    for level in capsule.supported_levels():
        misses = _oracle_misses(capsule, image, level, run_id, tmp_path / level)
        if misses and set(misses) <= stochastic:
            misses = _oracle_misses(capsule, image, level, run_id, tmp_path / f"{level}-again")
        if misses:
            wrong[level] = misses
    assert capsule.supported_levels() == LEVELS
    assert wrong == {}
    assert _containers_of(run_id) == [], "every sandbox container must be removed"
