"""Checks on the files of a capsule folder itself (format.py checks its capsule.toml)."""

from __future__ import annotations

import os
from pathlib import Path

NOT_UTF8 = "the file name is not UTF-8; rename it (e.g. `convmv -f latin1 -t utf-8 --notest`) or remove it"
LINK_OUT = "is a link pointing outside the capsule; replace it with the file itself"


def file_problems(folder: Path) -> list[tuple[str, str]]:
    """(path as printable text, what to do) for each file a workspace cannot safely carry.

    Names must be UTF-8, since workspaces, transcripts and reports carry them as text; symbolic
    links must stay inside the capsule, or a workspace could expose host files.
    """
    root = folder.resolve()
    found = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder).as_posix()
        shown = os.fsencode(relative).decode("utf-8", errors="backslashreplace")
        if shown != relative:
            found.append((shown, NOT_UTF8))
        if path.is_symlink():
            try:
                path.resolve().relative_to(root)
            except ValueError:
                found.append((shown, LINK_OUT))
    return found
