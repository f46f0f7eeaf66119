"""Capsules on disk: the capsule.toml format, its loader and its validator (its [[questions]] in
questions.py, the findings it reports in problems.py).

A capsule folder holds capsule.toml, code/, data/, results/, environment/Dockerfile and
REPRODUCING.md. capsule.toml is the only file that carries reference answers; it is
never copied into a workspace (see levels.py). Its top-level keys are KNOWN_KEYS; among them
`gpu` (GPU_CHOICES) and `agent_user` (AGENT_USERS: "agent" runs the agent unprivileged, for
capsules whose code needs no system packages installed; "root", the default, lets it apt-get).
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corebench_runner.capsules.files import file_problems

# Questions and validation findings have modules of their own; their names stay importable from
# here, where plugins import Question.
from corebench_runner.capsules.problems import CapsuleError, FieldReader, Problem, inside
from corebench_runner.capsules.questions import Question, Tolerance, is_vision_question, parse_questions  # noqa: F401
from corebench_runner.records import OracleSpec

CAPSULE_FILE = "capsule.toml"
GPU_CHOICES = ("none", "optional", "required")
# Who the agent's commands run as in the task container: root (hard-level agents apt-get install
# their dependencies) or `agent`, the unprivileged uid 1000 of every corebench base image.
AGENT_USERS = ("root", "agent")
LEVELS = ("easy", "medium", "hard")
RUN_SCRIPTS = ("code/run", "code/run.sh")
# Folders whose content belongs to the capsule; anything else at the top is left alone.
CONTENT_DIRS = ("code", "data", "results", "environment")
KNOWN_KEYS = {"id", "title", "field", "language", "gpu", "agent_user", "task_prompt", "environment", "reproduce", "grader",
              "contents", "levels", "upstream", "paper", "resources", "questions", "source", "benchmark"}


@dataclass(frozen=True)
class Paper:
    doi: str = ""
    url: str = ""
    authors: tuple[str, ...] = ()
    year: int | None = None
    citation: str = ""


@dataclass(frozen=True)
class Benchmark:
    """Which benchmark, version and split a capsule belongs to; runs of different ones never mix."""

    name: str = "custom"
    version: str = ""
    split: str = ""

    @property
    def label(self) -> str:
        """One string per suite, e.g. "core-bench 1.1 mainline" (used to group runs in reports)."""
        return " ".join(part for part in (self.name, self.version, self.split) if part)


@dataclass(frozen=True)
class Resources:
    cpus: float = 2.0
    memory: str = "4g"
    time_limit: int = 3600  # seconds for one task
    pids: int = 1024
    disk: str = "10g"  # what the workspace may hold; the sandbox stops the task past it


@dataclass(frozen=True)
class Capsule:
    id: str
    title: str
    path: Path
    field: str
    language: str
    gpu: str
    task_prompt: str
    questions: tuple[Question, ...]
    paper: Paper = Paper()
    resources: Resources = Resources()
    environment: str = "environment/Dockerfile"
    reproduce: str = ""
    grader: str | None = None
    contents: str = "present"  # "missing" when imported without its tarball
    levels: tuple[str, ...] = LEVELS
    upstream: dict[str, Any] = field(default_factory=dict)  # CORE-Bench fields kept verbatim
    agent_user: str = "root"  # one of AGENT_USERS
    benchmark: Benchmark = Benchmark()

    @property
    def toml_path(self) -> Path:
        return self.path / CAPSULE_FILE

    @property
    def dockerfile(self) -> Path:
        return self.path / self.environment

    def reference_runs(self) -> list[dict[str, Any]]:
        """Reference runs in upstream's shape: a list of {question: value} dicts."""
        n = max((len(q.runs) for q in self.questions), default=0)
        return [{q.text: q.runs[i] for q in self.questions if i < len(q.runs)} for i in range(n)]

    def oracle_spec(self) -> OracleSpec | None:
        if not self.reproduce:
            return None
        return OracleSpec(
            reproduce=self.reproduce,
            extract={q.text: dict(q.extract) for q in self.questions if q.extract},
        )

    def content_hash(self) -> str:
        """sha256 over every file of the capsule (paths and bytes), for run records."""
        digest = hashlib.sha256()
        for file in sorted(p for p in self.path.rglob("*") if p.is_file()):
            # fsencode: a file name that is not UTF-8 still hashes (as its bytes on disk) instead of crashing.
            digest.update(os.fsencode(file.relative_to(self.path).as_posix()))
            digest.update(b"\0")
            digest.update(file.read_bytes())
        return digest.hexdigest()

    def supported_levels(self) -> tuple[str, ...]:
        """Levels that make sense for what is on disk (and that capsule.toml allows)."""
        if self.contents != "present":
            return ()
        ok = []
        has_results = any(p.is_file() for p in (self.path / "results").rglob("*")) if (self.path / "results").is_dir() else False
        for level in self.levels:
            if level == "easy" and not has_results:
                continue
            if level == "medium" and not (self.dockerfile.is_file() and (self.path / "REPRODUCING.md").is_file()):
                continue
            ok.append(level)
        return tuple(ok)


# ---------------------------------------------------------------- parsing

def parse_capsule(folder: Path, draft: bool = False) -> tuple[Capsule | None, list[Problem]]:
    """Parse and validate a capsule folder. Returns (capsule or None, problems).

    A draft (a capsule being authored) may still lack its task prompt, its questions and their
    reference runs: `capsule reproduce` and `capsule check --record` run before those exist.
    """
    folder = Path(folder)
    file = folder / CAPSULE_FILE
    problems: list[Problem] = []
    if not folder.is_dir():
        return None, [Problem(folder, "folder", "no such capsule folder")]
    if not file.is_file():
        return None, [Problem(file, "file", "missing; every capsule needs a capsule.toml (see `corebench capsule new`)")]
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return None, [Problem(file, "syntax", f"not valid TOML: {exc}")]
    except RecursionError:  # the parser recurses once per level: 500 nested arrays exhaust the stack
        return None, [Problem(file, "syntax", "arrays or tables nested too deep to read; flatten them")]

    r = FieldReader(file, problems)
    for key in sorted(set(data) - KNOWN_KEYS):
        r.error(key, f"unknown field; known fields are {', '.join(sorted(KNOWN_KEYS))} (a typo?)", "warning")
    capsule_id = r.get(data, "id", str, "id", required=True, default="")
    if capsule_id and capsule_id != folder.name:
        r.error("id", f"is {capsule_id!r} but the folder is {folder.name!r}; make them the same")
    title = r.get(data, "title", str, "title", required=True, default="")
    field_name = r.get(data, "field", str, "field", required=True, default="")
    language = r.get(data, "language", str, "language", required=True, default="")
    gpu = r.get(data, "gpu", str, "gpu", default="none")
    if gpu not in GPU_CHOICES:
        r.error("gpu", f"is {gpu!r}; use one of {', '.join(GPU_CHOICES)}")
    agent_user = r.get(data, "agent_user", str, "agent_user", default="root")
    if agent_user not in AGENT_USERS:
        r.error("agent_user", f"is {agent_user!r}; use \"agent\" (unprivileged, when the code needs no system "
                              "packages installed) or \"root\"")
    task_prompt = r.get(data, "task_prompt", str, "task_prompt", required=True, default="")
    if task_prompt is not None and not task_prompt.strip() and "task_prompt" in data:
        r.error("task_prompt", "is empty; say what the agent must reproduce")
    environment = r.get(data, "environment", str, "environment", default="environment/Dockerfile")
    reproduce = r.get(data, "reproduce", str, "reproduce", default="")
    grader = r.get(data, "grader", str, "grader", default=None)
    contents = r.get(data, "contents", str, "contents", default="present")
    if contents not in ("present", "missing"):
        r.error("contents", f"is {contents!r}; use 'present' or 'missing'")
    levels = r.get(data, "levels", list, "levels", default=list(LEVELS))
    bad_levels = [lv for lv in levels if lv not in LEVELS]
    if bad_levels:
        r.error("levels", f"unknown level(s) {bad_levels}; use some of {', '.join(LEVELS)}")
    upstream = r.get(data, "upstream", dict, "upstream", default={})

    paper_table = r.get(data, "paper", dict, "paper", default={})
    paper = Paper(
        doi=r.get(paper_table, "doi", str, "paper.doi", default=""),
        url=r.get(paper_table, "url", str, "paper.url", default=""),
        authors=tuple(r.get(paper_table, "authors", list, "paper.authors", default=[])),
        year=r.get(paper_table, "year", int, "paper.year", default=None),
        citation=r.get(paper_table, "citation", str, "paper.citation", default=""),
    )

    bench_table = r.get(data, "benchmark", dict, "benchmark", default={})
    benchmark = Benchmark(
        name=r.get(bench_table, "name", str, "benchmark.name", default="custom"),
        version=str(r.get(bench_table, "version", (str, int, float), "benchmark.version", default="")),
        split=r.get(bench_table, "split", str, "benchmark.split", default=""),
    )

    res_table = r.get(data, "resources", dict, "resources", default={})
    resources = Resources(
        cpus=float(r.get(res_table, "cpus", (int, float), "resources.cpus", default=2.0)),
        memory=r.get(res_table, "memory", str, "resources.memory", default="4g"),
        time_limit=r.get(res_table, "time_limit", int, "resources.time_limit", default=3600),
        pids=r.get(res_table, "pids", int, "resources.pids", default=1024),
        disk=r.get(res_table, "disk", str, "resources.disk", default="10g"),
    )
    if resources.cpus <= 0:
        r.error("resources.cpus", "must be positive")
    if resources.time_limit <= 0:
        r.error("resources.time_limit", "must be a positive number of seconds")
    if not _valid_memory(resources.memory):
        r.error("resources.memory", f"is {resources.memory!r}; write a size such as '512m' or '4g'")
    if not _valid_memory(resources.disk):
        r.error("resources.disk", f"is {resources.disk!r}; write a size such as '500m' or '10g'")

    for name, rel in (("environment", environment),):
        if rel and not inside(folder, rel):
            r.error(name, f"{rel!r} points outside the capsule folder; use a path inside it")

    questions = parse_questions(data, r, folder, capsule_id or folder.name)

    if contents == "present":
        if not (folder / "code").is_dir():
            r.error("code/", "missing; put the paper's code in code/ (or set contents = \"missing\")")
        if "environment" not in [p.field for p in problems] and environment and not (folder / environment).is_file():
            r.error("environment", f"{environment} does not exist; add a Dockerfile FROM one of the corebench base images")
    else:
        problems.append(Problem(file, "contents", "the capsule's code and data are missing; import it again with "
                                "`corebench capsule import-corebench TASKS.json --tarballs DIR` or `--download`", "warning"))
    for name, message in file_problems(folder):
        r.error(name, message)
    if draft:
        problems[:] = [p for p in problems if not _unfinished_part(p)]

    if any(p.severity == "error" for p in problems):
        return None, problems
    capsule = Capsule(
        id=capsule_id, title=title, path=folder, field=field_name, language=language, gpu=gpu,
        task_prompt=task_prompt, questions=tuple(questions), paper=paper, resources=resources,
        environment=environment, reproduce=reproduce, grader=grader, contents=contents,
        levels=tuple(levels), upstream=dict(upstream), agent_user=agent_user, benchmark=benchmark,
    )
    return capsule, problems


def _unfinished_part(problem: Problem) -> bool:
    """A missing or empty prompt, question list or reference runs: what a draft has not written yet."""
    unfinished = problem.field in ("questions", "task_prompt") or re.fullmatch(r"questions\[\d+\]\.runs", problem.field)
    return bool(unfinished) and problem.message.startswith(("missing", "is empty"))


def _valid_memory(text: str) -> bool:
    text = text.strip().lower()
    if text and text[-1] in "bkmg":
        text = text[:-1]
    return text.isdigit() and int(text) > 0


def load_capsule(folder: Path, draft: bool = False) -> Capsule:
    """Load a capsule or raise CapsuleError naming the first problem."""
    capsule, problems = parse_capsule(folder, draft=draft)
    errors = [p for p in problems if p.severity == "error"]
    if capsule is None or errors:
        raise CapsuleError(errors or problems)
    return capsule
