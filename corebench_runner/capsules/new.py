"""Start a new capsule folder from a git repository at a pinned commit, or from a folder.

The result is a capsule skeleton: code/ filled, data/ results/ environment/ in place,
and a capsule.toml plus REPRODUCING.md to fill in. `capsule validate` says what is left.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import git
import tomli_w

from corebench_runner.capsules.format import CAPSULE_FILE, CONTENT_DIRS
from corebench_runner.errors import UserError

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")

# Code files by language, as `capsule new` counts them to fill `language` and choose a base image.
LANGUAGE_SUFFIXES = {"R": (".r", ".rmd"), "Python": (".py", ".ipynb")}
BASE_IMAGE_FOR = {("R",): "corebench/r:bookworm", ("Python",): "corebench/python:bookworm",
                  ("Python", "R"): "corebench/python-r:bookworm", (): "corebench/python-r:bookworm"}

DOCKERFILE_TEMPLATE = """\
# The environment the capsule's code needs, built on a corebench base image
# (see `corebench images list`): corebench/python:bookworm, corebench/r:bookworm
# or corebench/python-r:bookworm. Install Debian packages (python3-*, r-cran-*) or PyPI ones,
# e.g. RUN apt-get update && apt-get install -y --no-install-recommends r-cran-lme4
FROM {base}
WORKDIR /workspace
"""

REPRODUCING_TEMPLATE = """\
# Reproducing {name}

Describe how to run the code from the capsule root, for example:

    {example}

and where the outputs appear (results/).
"""

TOML_TEMPLATE = """\
id = {id}
title = {title}
# The paper's research field, e.g. "Computer Science", "Social Sciences" or "Medical Sciences".
field = {field}
language = {language}  # {language_note}
gpu = "none"  # "none", "optional" or "required"
# Who the agent's commands run as in the task container. "agent" (an unprivileged user) suits code
# that needs no system package installed; "root" lets a hard- or easy-level agent apt-get install
# what the code needs, because those levels run in a generic toolbox image, not environment/Dockerfile.
agent_user = "root"
task_prompt = {task_prompt}
environment = "environment/Dockerfile"
# The command that runs the code from the capsule's top folder (not code/run: hard level removes it).
reproduce = {reproduce}

[source]
{source}

[paper]
doi = ""
url = ""
authors = []
citation = ""

[resources]  # `corebench capsule check {id_bare} --runs 3` suggests values measured on real runs
cpus = 2
memory = "4g"
time_limit = 3600

# Next: `corebench capsule reproduce {id_bare}` shows the files and numbers the code produces; then add
# questions with `corebench capsule add-question {id_bare} TEXT --file results/... --key ...` and record
# their reference runs with `corebench capsule check {id_bare} --runs 3 --record`. A question looks like:
# [[questions]]
# text = "Report the test accuracy of the model, rounded to 2 decimal places."
# runs = [0.91, 0.91, 0.91]
# extract = {{ file = "results/metrics.json", key = "accuracy" }}   # how the oracle reads it
"""


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise UserError(f"NAME: {name!r} is not a valid capsule id; use lower-case letters, digits, '.', '_' and '-'")


def detect_languages(code_dir: Path) -> dict[str, int]:
    """How many code files of each language code/ holds (languages with none left out)."""
    counts = {language: 0 for language in LANGUAGE_SUFFIXES}
    for path in code_dir.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            for language, suffixes in LANGUAGE_SUFFIXES.items():
                counts[language] += path.suffix.lower() in suffixes
    return {language: n for language, n in counts.items() if n}


def language_field(counts: dict[str, int]) -> tuple[str, str]:
    """(value of `language`, a comment saying where it came from)."""
    if not counts:
        return "", "no .py, .ipynb, .R or .Rmd file found in code/: fill in the language"
    found = ", ".join(f"{n} {language} file(s)" for language, n in sorted(counts.items()))
    value = " + ".join(sorted(counts, key=lambda lang: (-counts[lang], lang)))
    return value, f"detected in code/: {found}"


def _toml_value(value: object) -> str:
    return tomli_w.dumps({"v": value})[4:].strip()


def _skeleton_toml(name: str, source: dict[str, str], counts: dict[str, int], field: str = "",
                   reproduce: str = "", task_prompt: str = "", title: str = "") -> str:
    language, note = language_field(counts)
    return TOML_TEMPLATE.format(
        id=_toml_value(name), id_bare=name, title=_toml_value(title or name), field=_toml_value(field),
        language=_toml_value(language), language_note=note, task_prompt=_toml_value(task_prompt),
        reproduce=_toml_value(reproduce), source="\n".join(f"{k} = {_toml_value(v)}" for k, v in source.items()))


def _write_skeleton(dest: Path, name: str, source: dict[str, str], **fields: str) -> None:
    for folder in CONTENT_DIRS:
        (dest / folder).mkdir(exist_ok=True)
    counts = detect_languages(dest / "code")
    dockerfile = dest / "environment" / "Dockerfile"
    if not dockerfile.exists():
        dockerfile.write_text(DOCKERFILE_TEMPLATE.format(base=BASE_IMAGE_FOR[tuple(sorted(counts))]))
    readme = dest / "REPRODUCING.md"
    if not readme.exists():
        example = fields.get("reproduce") or ("Rscript code/main.R" if list(counts) == ["R"] else "python3 code/main.py")
        readme.write_text(REPRODUCING_TEMPLATE.format(name=name, example=example))
    (dest / CAPSULE_FILE).write_text(_skeleton_toml(name, source, counts, **fields))


def new_capsule(capsules_dir: Path, name: str, from_git: str | None = None, rev: str | None = None,
                from_dir: Path | None = None, **fields: str) -> Path:
    """Create capsules_dir/name. Exactly one of from_git (with rev) or from_dir.

    `fields` (field, reproduce, task_prompt, title) pre-fill capsule.toml; the rest is left to fill.
    """
    check_name(name)
    if bool(from_git) == bool(from_dir):
        raise UserError("give exactly one of --from-git URL (with --rev COMMIT) or --from-dir PATH")
    if from_git and not rev:
        raise UserError("--rev: pin the commit to clone (a full or short hash, or a tag), so the capsule is reproducible")
    dest = capsules_dir / name
    if dest.exists():
        raise UserError(f"{dest} already exists; choose another NAME or remove it")
    capsules_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=capsules_dir))
    try:
        if from_git:
            commit = _clone_at(from_git, rev or "", staging / "code")
            source = {"git": from_git, "rev": commit}
        else:
            source = {"dir": str(Path(from_dir).resolve())}
            _copy_from_dir(Path(from_dir), staging)
        _lift_data_folder(staging)
        _write_skeleton(staging, name, source, **{k: v for k, v in fields.items() if v})
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest


def _lift_data_folder(staging: Path) -> None:
    """The repository's top-level data/ becomes the capsule's data/.

    Code that reads data/x.csv from the repository's top folder then runs unchanged from the
    capsule's top folder (`Rscript code/analysis.R`), which is where `reproduce` runs.
    """
    repo_data = staging / "code" / "data"
    capsule_data = staging / "data"
    if repo_data.is_dir() and not repo_data.is_symlink() and not (capsule_data.exists() and any(capsule_data.iterdir())):
        if capsule_data.exists():
            capsule_data.rmdir()
        repo_data.rename(capsule_data)


def _clone_at(url: str, rev: str, code_dir: Path) -> str:
    """Clone url into code_dir, check out rev, drop .git; return the full commit hash."""
    try:
        repo = git.Repo.clone_from(url, code_dir, no_checkout=True)
    except git.GitCommandError as exc:
        detail = (exc.stderr or "").strip().splitlines()
        raise UserError(f"--from-git: cannot clone {url} ({detail[-1] if detail else exc.status}); "
                        "check the URL and your access") from None
    try:
        repo.git.checkout(rev)
        commit = repo.head.commit.hexsha
    except (git.GitCommandError, ValueError):
        raise UserError(f"--rev: {rev!r} is not a commit of {url}; give a hash or tag that exists") from None
    finally:
        repo.close()
    shutil.rmtree(code_dir / ".git")
    return commit


def _copy_from_dir(source: Path, dest: Path) -> None:
    if not source.is_dir():
        raise UserError(f"--from-dir: {source} is not a folder")
    if (source / "code").is_dir():
        # Already in capsule layout: take its parts as they are.
        for entry in source.iterdir():
            if entry.name in (*CONTENT_DIRS, "REPRODUCING.md"):
                target = dest / entry.name
                if entry.is_dir():
                    shutil.copytree(entry, target, symlinks=True)
                else:
                    shutil.copy2(entry, target)
    else:
        shutil.copytree(source, dest / "code", symlinks=True, ignore=shutil.ignore_patterns(".git"))
