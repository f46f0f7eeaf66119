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

from corebench_runner.capsule import CAPSULE_FILE, CONTENT_DIRS
from corebench_runner.errors import UserError

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")

DOCKERFILE_TEMPLATE = """\
# The environment the capsule's code needs, built on a corebench base image
# (see `corebench images list`): corebench/python:bookworm, corebench/r:bookworm
# or corebench/python-r:bookworm. Install Debian packages (python3-*, r-cran-*) or PyPI ones.
FROM corebench/python:bookworm
"""

REPRODUCING_TEMPLATE = """\
# Reproducing {name}

Describe how to run the code from the capsule root, for example:

    python3 code/main.py

and where the outputs appear (results/).
"""


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise UserError(f"NAME: {name!r} is not a valid capsule id; use lower-case letters, digits, '.', '_' and '-'")


def _skeleton_toml(name: str, source: dict[str, str]) -> str:
    doc = {
        "id": name,
        "title": name,
        "field": "Computer Science",
        "language": "Python",
        "gpu": "none",
        "task_prompt": "",
        "environment": "environment/Dockerfile",
        "reproduce": "",
        "source": source,
        "paper": {"doi": "", "url": "", "authors": [], "citation": ""},
        "resources": {"cpus": 2, "memory": "4g", "time_limit": 3600},
    }
    example = (
        "\n# Add one [[questions]] table per question, with the value each reference run gave:\n"
        "# [[questions]]\n"
        "# text = \"Report the test accuracy of the model, rounded to 2 decimal places.\"\n"
        "# runs = [0.91, 0.91, 0.91]\n"
        "# extract = { file = \"results/metrics.json\", key = \"accuracy\" }   # how the oracle reads it\n"
    )
    return tomli_w.dumps(doc) + example


def _write_skeleton(dest: Path, name: str, source: dict[str, str]) -> None:
    for folder in CONTENT_DIRS:
        (dest / folder).mkdir(exist_ok=True)
    dockerfile = dest / "environment" / "Dockerfile"
    if not dockerfile.exists():
        dockerfile.write_text(DOCKERFILE_TEMPLATE)
    readme = dest / "REPRODUCING.md"
    if not readme.exists():
        readme.write_text(REPRODUCING_TEMPLATE.format(name=name))
    (dest / CAPSULE_FILE).write_text(_skeleton_toml(name, source))


def new_capsule(capsules_dir: Path, name: str, from_git: str | None = None, rev: str | None = None,
                from_dir: Path | None = None) -> Path:
    """Create capsules_dir/name. Exactly one of from_git (with rev) or from_dir."""
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
        _write_skeleton(staging, name, source)
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest


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
