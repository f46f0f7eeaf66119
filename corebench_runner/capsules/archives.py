"""Recognise an archive of a capsule (its tarball), which must never enter a workspace.

An importer or an author may leave `<capsule-id>.tar.gz` (or any archive of the whole capsule)
inside the capsule's folder; copied into a container it would hand the agent the original
results/ and REPRODUCING.md at every level. A data archive the code needs is kept: an archive
counts as the capsule's when it sits at the capsule's top level, is named after the capsule, or
holds a capsule's layout (REPRODUCING.md, capsule.toml, environment/Dockerfile, a capsule-ID/
folder) among its first entries.
"""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path, PurePosixPath

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".zip")
CAPSULE_MARKERS = {"reproducing.md", "capsule.toml"}
MEMBERS_LOOKED_AT = 500  # a capsule's layout shows in its first entries; never read a big data archive whole


def is_archive_name(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def is_capsule_archive(path: Path, capsule_id: str, at_top: bool = False) -> bool:
    """Whether the file at `path` is an archive of a capsule (by place, name or content)."""
    name = path.name.lower()
    if not is_archive_name(name) or path.is_symlink():
        return False
    if at_top or name.startswith("capsule") or (capsule_id and capsule_id.lower() in name):
        return True
    return any(_looks_like_capsule(member) for member in _member_names(path))


def _looks_like_capsule(member: str) -> bool:
    parts = [p.lower() for p in PurePosixPath(member).parts if p not in (".", "")]
    if not parts:
        return False
    if parts[0].startswith("capsule-") or any(p in CAPSULE_MARKERS for p in parts):
        return True
    return any(a == "environment" and b == "dockerfile" for a, b in zip(parts, parts[1:]))


def _member_names(path: Path) -> list[str]:
    """The first entries' names; an archive that cannot be read is judged by its name alone."""
    names: list[str] = []
    try:
        if path.name.lower().endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                return archive.namelist()[:MEMBERS_LOOKED_AT]
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                names.append(member.name)
                if len(names) >= MEMBERS_LOOKED_AT:
                    break
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError):
        pass
    return names
