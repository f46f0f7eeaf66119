"""Installed for real: the sdist and wheel built with the standard build frontend, the wheel installed into a
fresh virtualenv, and `corebench` used from an empty folder outside the checkout, as a new user would.

Nothing here imports the checkout: every command is the installed `corebench` in its own venv, with no
PYTHONPATH, so a file the wheel forgot, or anything found beside the source tree, fails here. A second
test builds a tiny third-party plugin distribution (a grader and a scaffold declared by entry points),
installs it beside, and runs with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILT_IN = {
    "scaffold": {"oracle", "core-agent", "claude-code", "codex", "opencode", "command"},
    "grader": {"corebench", "tolerant", "corebench-v1.1", "tolerant-v1.1"},
    "sandbox": {"docker", "local", "podman"},
    "model provider": {"anthropic", "openai", "scripted"},
    "executor": {"local", "ray"},
}
CAPSULE = "longley-nist"  # Python, deterministic, seconds to reproduce

TASKS = [{"capsule_id": "capsule-demo", "field": "Biology", "language": "R",
          "results": [{"Report the accuracy.": 0.9412, "Report the model name.": "LASSO"},
                      {"Report the accuracy.": 0.9412, "Report the model name.": "LASSO"}]}]
ANSWERS = [{"capsule_id": "capsule-demo", "report": {"Report the accuracy.": 0.9412, "Report the model name.": "lasso"}},
           {"capsule_id": "capsule-demo", "report": {"Report the accuracy.": 0.7, "Report the model name.": "ridge"}}]


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {result.returncode}\n{result.stdout[-3000:]}\n"
                             f"{result.stderr[-3000:]}")
    return result


def _build(project: Path, outdir: Path) -> None:
    """`python -m build`: the sdist, then the wheel built from that sdist (so both must be complete)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    _run([sys.executable, "-m", "build", "--outdir", str(outdir), str(project)], cwd=outdir, env=env, timeout=600)


class Installed:
    """A fresh venv with the wheel installed, and a way to run its `corebench` as a user would."""

    def __init__(self, venv: Path, home: Path) -> None:
        self.venv = venv
        self.env = {key: value for key, value in os.environ.items()
                    if key not in ("PYTHONPATH", "COREBENCH_SUITE", "VIRTUAL_ENV", "PYTHONHOME")}
        self.env["PATH"] = f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        self.env["COREBENCH_STORE"] = str(home / "results.sqlite")

    def use_store(self, folder: Path) -> None:
        """Each test its own results store: the runs it lists are its own."""
        self.env["COREBENCH_STORE"] = str(folder / "results.sqlite")

    def pip_install(self, *args: str) -> None:
        _run([str(self.venv / "bin" / "pip"), "install", "-q", *args], cwd=self.venv, env=self.env, timeout=900)

    def corebench(self, *args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        return _run([str(self.venv / "bin" / "corebench"), *args], cwd=cwd, env=self.env, check=check)


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    outdir = tmp_path_factory.mktemp("dist")
    _build(ROOT, outdir)
    return outdir


@pytest.fixture(scope="module")
def installed(dist, tmp_path_factory) -> Installed:
    (wheel,) = dist.glob("corebench_runner-*.whl")
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=venv.parent)
    fresh = Installed(venv, tmp_path_factory.mktemp("home"))
    fresh.pip_install(str(wheel))  # not editable: the wheel alone, its dependencies from the index
    return fresh


@pytest.mark.slow
def test_the_sdist_carries_the_bundled_suite_and_its_plugins(dist):
    import tarfile

    (sdist,) = dist.glob("corebench_runner-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert "corebench_runner/bundled/graders/corebench-v1.1.py" in names
    assert "corebench_runner/bundled/scaffolds/core-agent/__init__.py" in names
    assert "corebench_runner/bundled/reports/index.html" in names
    assert f"corebench_runner/bundled/capsules/{CAPSULE}/capsule.toml" in names


@pytest.mark.slow
@pytest.mark.docker
def test_the_installed_wheel_runs_the_bundled_suite_from_an_empty_folder(installed, tmp_path):
    installed.use_store(tmp_path)
    work = tmp_path / "empty"
    work.mkdir()

    version = installed.corebench("--version", cwd=work).stdout
    assert version.startswith("corebench 0.") and "commit" not in version  # no checkout behind a wheel

    listed = json.loads(installed.corebench("plugins", "--json", cwd=work).stdout)
    for kind, names in BUILT_IN.items():
        built_in = {p["name"] for p in listed if p["kind"] == kind and p["origin"] == "built in"}
        assert names <= built_in, f"{kind}: {sorted(names - built_in)} missing from the installed wheel"
    table = installed.corebench("plugins", cwd=work).stdout
    assert f"suite: {installed.venv}" in table  # the bundled suite, inside the install

    capsules = installed.corebench("capsule", "list", cwd=work).stdout  # no capsules/ here: the bundled suite
    assert CAPSULE in capsules and "iris-lda" in capsules

    images_before = _environment_images()
    try:
        run = installed.corebench("run", "--scaffold", "oracle", "--suite", "bundled", "--capsules", CAPSULE,
                                  "--quiet", cwd=work)
    finally:
        _remove_images(_environment_images() - images_before)  # only the environment image this run built
    runs = json.loads(installed.corebench("runs", "--json", cwd=work).stdout)
    assert len(runs) == 1, run.stdout + run.stderr
    shown = json.loads(installed.corebench("show", runs[0]["id"], "--json", cwd=work).stdout)
    assert [task["outcome"] for task in shown["tasks"]] == ["correct"], run.stdout + run.stderr

    (work / "tasks.json").write_text(json.dumps(TASKS))
    (work / "answers.json").write_text(json.dumps(ANSWERS))
    for grader in sorted(BUILT_IN["grader"]):
        graded = installed.corebench("grade", "--grader", grader, "--tasks", "tasks.json", "--answers",
                                     "answers.json", "--json", cwd=work)
        assert [entry["task_correct"] for entry in json.loads(graded.stdout)] == [True, False], grader

    installed.corebench("report", "--out", "site", cwd=work)
    index = (work / "site" / "index.html").read_text()
    assert "oracle" in index and (work / "site" / "static" / "site.css").is_file()

    installed.corebench("review", "list", cwd=work)
    assert sorted(p.name for p in work.iterdir()) == ["answers.json", "site", "tasks.json"]  # nothing else here

    # --model scripted:FILE is a plugin apart from the engine (corebench_scripted/), shipped in the same wheel.
    questions = tomllib.loads((ROOT / "capsules" / CAPSULE / "capsule.toml").read_text())["questions"]
    wrong = {question["text"]: 0 for question in questions}  # every question answered, every answer wrong
    session = tmp_path / "sonnet.json"
    session.write_text(json.dumps({"model": "scripted", "steps": [
        {"content": [{"type": "tool_use", "name": "submit", "input": {"answers": wrong}}]}]}))
    installed.corebench("run", "--scaffold", "core-agent", "--model", f"scripted:{session}", "--sandbox", "local",
                        "--suite", "bundled", "--capsules", CAPSULE, "--quiet", cwd=work, check=False)
    scripted = json.loads(installed.corebench("runs", "--json", cwd=work).stdout)[0]
    assert scripted["model"] == "scripted:sonnet", scripted
    shown = json.loads(installed.corebench("show", scripted["id"], "--json", cwd=work).stdout)
    assert [task["outcome"] for task in shown["tasks"]] == ["incorrect"], shown["tasks"]


def _environment_images() -> set[str]:
    import docker

    client = docker.from_env()
    try:
        return {image.id for image in client.images.list(name=f"corebench/env-{CAPSULE}")}
    finally:
        client.close()


def _remove_images(image_ids: set[str]) -> None:
    import docker

    client = docker.from_env()
    try:
        for image_id in image_ids:
            try:
                client.images.remove(image_id)
            except docker.errors.APIError:
                pass  # another test's container uses it now: it stays, as that test's
    finally:
        client.close()


PLUGIN_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "corebench-answer-42"
version = "2.0.1"
dependencies = []

[project.entry-points."corebench.graders"]
always-right = "corebench_answer_42:GRADER"

[project.entry-points."corebench.scaffolds"]
answer-42 = "corebench_answer_42:SCAFFOLD"
"""

PLUGIN_MODULE = '''\
"""A third party's plugins: a scaffold answering 42 to everything and a grader that takes any answer."""

import json

from corebench_runner.agents.contract import ScaffoldBase
from corebench_runner.records import Submission, Verdict, VerdictStatus


class AnswerFortyTwo(ScaffoldBase):
    name = "answer-42"
    version = "2.0.1"
    needs_model = False

    def run(self, task, sandbox, model, limits):
        answers = {question: 42 for question in task.questions}
        sandbox.write_file(task.report_path, json.dumps(answers))
        return Submission(answers=answers, transcript=[{"type": "note", "text": "answered 42"}])


class AlwaysRight:
    name = "always-right"

    def grade(self, question, reported, *, reported_present=True):
        if not reported_present:
            return Verdict(VerdictStatus.INCORRECT, "not reported")
        return Verdict(VerdictStatus.CORRECT, "always-right takes any answer")


SCAFFOLD = AnswerFortyTwo()
GRADER = AlwaysRight()
'''


@pytest.mark.slow
def test_a_third_party_package_adds_a_grader_and_a_scaffold_by_entry_points(installed, tmp_path):
    project = tmp_path / "corebench-answer-42"
    project.mkdir()
    (project / "pyproject.toml").write_text(PLUGIN_PYPROJECT)
    (project / "corebench_answer_42.py").write_text(PLUGIN_MODULE)
    dist = tmp_path / "dist"
    dist.mkdir()
    _build(project, dist)
    (wheel,) = dist.glob("*.whl")
    installed.pip_install("--no-deps", str(wheel))
    installed.use_store(tmp_path)
    work = tmp_path / "work"
    work.mkdir()

    listed = {(p["kind"], p["name"]): p for p in json.loads(installed.corebench("plugins", "--json", cwd=work).stdout)}
    assert listed[("grader", "always-right")]["origin"] == "package"
    assert listed[("scaffold", "answer-42")]["version"] == "2.0.1"
    assert "package corebench-answer-42" in installed.corebench("plugins", cwd=work).stdout

    (work / "tasks.json").write_text(json.dumps(TASKS))
    (work / "answers.json").write_text(json.dumps(ANSWERS))
    graded = installed.corebench("grade", "--grader", "always-right", "--tasks", "tasks.json", "--answers",
                                 "answers.json", "--json", cwd=work)
    assert [entry["task_correct"] for entry in json.loads(graded.stdout)] == [True, True]

    # The third party's scaffold and grader drive a whole run (the local sandbox: no Docker needed).
    run = installed.corebench("--suite", "bundled", "run", "--scaffold", "answer-42", "--grader", "always-right",
                              "--sandbox", "local", "--capsules", CAPSULE, "--quiet", cwd=work)
    runs = json.loads(installed.corebench("runs", "--json", cwd=work).stdout)
    shown = json.loads(installed.corebench("show", runs[0]["id"], "--json", cwd=work).stdout)
    assert shown["run"]["scaffold"] == "answer-42", run.stdout + run.stderr
    assert [task["outcome"] for task in shown["tasks"]] == ["correct"], run.stdout + run.stderr

    unknown = installed.corebench("grade", "--grader", "always-wrong", "--tasks", "tasks.json", "--answers",
                                  "answers.json", cwd=work, check=False)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert "always-right (package corebench-answer-42)" in unknown.stderr and "corebench (built in)" in unknown.stderr
