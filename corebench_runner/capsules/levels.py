"""What each difficulty level keeps and removes from a capsule's workspace.

    easy    keeps results/;   removes REPRODUCING.md, environment/ and the run scripts
    medium  empties results/; keeps REPRODUCING.md, environment/ and the run scripts
    hard    empties results/; removes REPRODUCING.md, environment/ and the run scripts

capsule.toml (the only file holding reference answers) is never copied, at any level. Nor is an
archive of the capsule (a tarball the importer or an author left; see archives.py), and
where results/ is emptied, so is every results/ folder deeper in the tree (code/results/ ...).
`visible_files` says which shipped files a level's workspace holds; `prepare` copies exactly those.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from corebench_runner.capsules.archives import is_capsule_archive
from corebench_runner.capsules.format import CAPSULE_FILE, LEVELS, RUN_SCRIPTS, Capsule
from corebench_runner.errors import UserError
from corebench_runner.records import TaskSpec

WORKSPACE_IN_SANDBOX = "/workspace"
REPORT_NAME = "report.json"
RECIPE_NAME = "reproduce.sh"  # the agent's recipe, re-run by `corebench run --verify` (running/verify.py)

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
        f"(no units, no percent sign unless asked).\n\n{keys}\n\n"
        f"Also leave {WORKSPACE_IN_SANDBOX}/{RECIPE_NAME}: the shell commands, run from {WORKSPACE_IN_SANDBOX}, that "
        f"install what the code needs and produce your answers with the capsule's code and data. It may be run "
        f"again in a fresh copy of this workspace to check them.\n"
        + confidence_request(report_path)
    )


# Confidence is asked for beside the report, never inside it: report.json, the official rule's input,
# keeps exactly the question keys (docs/measures.md).
CONFIDENCE_NAME = "confidence.json"


def confidence_request(report_path: str) -> str:
    where = f"{PurePosixPath(report_path).parent}/{CONFIDENCE_NAME}"
    return (f"\nAlso write {where}: a JSON object with the same keys, each mapping to your confidence, a number "
            f"from 0 to 1, that your answer to that question is correct.\n")


def _kept(capsule: Capsule, level: str, relative: PurePosixPath, path: Path) -> bool:
    """Whether the shipped file at `relative` enters the workspace at `level`."""
    keep_results, keep_readme, keep_env, keep_scripts = _LEVEL_RULES[level]
    top = relative.parts[0]
    if top in NEVER_COPIED:
        return False
    if (top == "REPRODUCING.md" and not keep_readme) or (top == "environment" and not keep_env):
        return False
    if relative.as_posix() in RUN_SCRIPTS and not keep_scripts:
        return False
    # Any folder named results, at any depth, may hold a previous run's answers.
    if not keep_results and any(part.lower() == "results" for part in relative.parts[:-1]):
        return False
    return not is_capsule_archive(path, capsule.id, at_top=len(relative.parts) == 1)


def _walk(capsule: Capsule, level: str) -> tuple[list[PurePosixPath], list[PurePosixPath]]:
    """(folders, files) of the capsule that a level's workspace holds, relative to the capsule."""
    root = capsule.path
    folders: list[PurePosixPath] = []
    files: list[PurePosixPath] = []
    for current, dirnames, filenames in os.walk(root):  # does not descend into linked folders
        base = PurePosixPath(Path(current).relative_to(root).as_posix())
        dirnames.sort()
        for name in list(dirnames):
            relative = base / name
            if relative.parts[0] in NEVER_COPIED or _dropped_folder(level, relative):
                dirnames.remove(name)
                continue
            if (Path(current) / name).is_symlink():  # copied as the link it is (validation keeps links inside)
                if _kept(capsule, level, relative, Path(current) / name):
                    files.append(relative)
                dirnames.remove(name)
            else:
                folders.append(relative)
        for name in sorted(filenames):
            relative = base / name
            if _kept(capsule, level, relative, Path(current) / name):
                files.append(relative)
    return folders, files


def _dropped_folder(level: str, relative: PurePosixPath) -> bool:
    return relative.as_posix() == "environment" and not _LEVEL_RULES[level][2]


def visible_files(capsule: Capsule, level: str) -> list[Path]:
    """The capsule's own files that the agent sees at `level` (host paths, in a stable order)."""
    return [capsule.path / str(relative) for relative in _walk(capsule, level)[1]]


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
    folders, files = _walk(capsule, level)
    for folder in folders:
        (dest / str(folder)).mkdir(parents=True, exist_ok=True)
    for relative in files:
        shutil.copy2(capsule.path / str(relative), dest / str(relative), follow_symlinks=False)
    (dest / "results").mkdir(exist_ok=True)

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
