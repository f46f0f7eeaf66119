"""What each difficulty level keeps and removes from a capsule's workspace.

    easy    keeps results/;   removes REPRODUCING.md, environment/ and the run scripts
    medium  empties results/; keeps REPRODUCING.md, environment/ and the run scripts
    hard    empties results/; removes REPRODUCING.md, environment/ and the run scripts

capsule.toml (the only file holding reference answers) is never copied, at any level.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from corebench_runner.capsule import LEVELS, RUN_SCRIPTS, Capsule, CAPSULE_FILE
from corebench_runner.errors import UserError
from corebench_runner.records import TaskSpec

WORKSPACE_IN_SANDBOX = "/workspace"
REPORT_NAME = "report.json"

# Top-level entries never copied into a workspace, whatever the level.
NEVER_COPIED = {CAPSULE_FILE, ".git", ".corebench"}

_LEVEL_RULES = {
    # level: (keep results content, keep REPRODUCING.md, keep environment/, keep run scripts)
    "easy": (True, False, False, False),
    "medium": (False, True, True, True),
    "hard": (False, False, False, False),
}

_LEVEL_HINTS = {
    "easy": "The results of a previous run are in results/: read them (and any figures there) to answer.",
    "medium": ("REPRODUCING.md explains how to run the code; environment/Dockerfile describes the environment, "
               "which is already installed in this container."),
    "hard": "There are no instructions: find out how to run the code, install what it needs, and run it.",
}


_UNPRIVILEGED_HINT = (" You work as an unprivileged user: pip installs Python packages into your home folder, "
                      "but system packages (apt-get) cannot be installed.")


@dataclass(frozen=True)
class Workspace:
    """A prepared workspace on the host, ready to be copied into a sandbox."""

    path: Path
    level: str
    capsule_id: str
    task: TaskSpec


def build_prompt(capsule: Capsule, level: str, report_path: str) -> str:
    """The task prompt for a level, in upstream's style, with the report's exact location and keys."""
    keys = "\n".join(f"- {q.text}" for q in capsule.questions)
    return (
        f"{capsule.task_prompt.strip()}\n\n"
        f"The capsule is in {WORKSPACE_IN_SANDBOX}: code/ holds the code, data/ the data, results/ is where "
        f"outputs go. {_LEVEL_HINTS[level]}{_UNPRIVILEGED_HINT if capsule.agent_user != 'root' else ''}\n\n"
        f"Answer the questions below by writing a JSON object to {report_path}: its keys must be exactly these "
        f"questions (the full text of each) and its values your answers, as numbers where the answer is a number "
        f"(no units, no percent sign unless asked).\n\n{keys}\n"
    )


def _copy_tree(src: Path, dest: Path) -> None:
    """Copy without following links out of the capsule (validation already refuses those)."""
    shutil.copytree(src, dest, symlinks=True)


def prepare(capsule: Capsule, level: str, dest: Path | str) -> Workspace:
    """Build the workspace for `level` in `dest` (created; must be empty or absent)."""
    if level not in LEVELS:
        raise UserError(f"--level: unknown level {level!r}; use one of {', '.join(LEVELS)}")
    if capsule.contents != "present":
        raise UserError(f"{capsule.toml_path}: contents are missing; import the capsule's tarball first "
                        "(`corebench capsule import-corebench ... --tarballs DIR`)")
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise UserError(f"{dest}: workspace folder is not empty; remove it or choose another")
    dest.mkdir(parents=True, exist_ok=True)
    keep_results, keep_readme, keep_env, keep_scripts = _LEVEL_RULES[level]

    for entry in sorted(capsule.path.iterdir()):
        name = entry.name
        if name in NEVER_COPIED:
            continue
        if name == "REPRODUCING.md" and not keep_readme:
            continue
        if name == "environment" and not keep_env:
            continue
        if name == "results":
            (dest / "results").mkdir(exist_ok=True)
            if keep_results:
                shutil.copytree(entry, dest / "results", symlinks=True, dirs_exist_ok=True)
            continue
        if entry.is_dir() and not entry.is_symlink():
            _copy_tree(entry, dest / name)
        else:
            shutil.copy2(entry, dest / name, follow_symlinks=False)

    (dest / "results").mkdir(exist_ok=True)
    if not keep_scripts:
        for script in RUN_SCRIPTS:
            target = dest / script
            if target.is_file() or target.is_symlink():
                target.unlink()

    report_path = f"{WORKSPACE_IN_SANDBOX}/{REPORT_NAME}"
    task = TaskSpec(
        capsule_id=capsule.id,
        level=level,
        prompt=build_prompt(capsule, level, report_path),
        questions=tuple(q.text for q in capsule.questions),
        vision_questions=tuple(q.text for q in capsule.questions if q.vision),
        workspace_dir=WORKSPACE_IN_SANDBOX,
        report_path=report_path,
        language=capsule.language,
        oracle=capsule.oracle_spec(),
    )
    return Workspace(path=dest, level=level, capsule_id=capsule.id, task=task)
