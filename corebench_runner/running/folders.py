"""Task scratch folders (the workspace before it is copied in, results/ on its way out).

Each folder's name carries the pid of the process that made it, so the folders a killed run left
can be told from a live run's: `corebench clean` and `corebench run --resume` remove them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

TASK_FOLDER_PREFIX = "corebench-task-"


def dead_task_folders() -> list[str]:
    """Task scratch folders of processes of this machine that no longer exist."""
    dead = []
    for folder in sorted(Path(tempfile.gettempdir()).glob(f"{TASK_FOLDER_PREFIX}*")):
        pid = folder.name[len(TASK_FOLDER_PREFIX):].split("-")[0]
        if folder.is_dir() and pid.isdigit() and not _pid_exists(int(pid)):
            dead.append(str(folder))  # a live run's folders, and folders not named by a pid, stay
    return dead


def remove_dead_task_folders() -> list[str]:
    removed = dead_task_folders()
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def remove_own_task_folders() -> None:
    """On Ctrl-C the process ends without waiting for its workers: their folders go now."""
    for folder in Path(tempfile.gettempdir()).glob(f"{TASK_FOLDER_PREFIX}{os.getpid()}-*"):
        shutil.rmtree(folder, ignore_errors=True)


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
