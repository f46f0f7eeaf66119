"""Capsule tarballs: safe unpacking and resumable, atomic downloads.

Unpacking checks every entry before writing anything: absolute paths, `..`, and links
pointing outside the capsule are refused (tar-slip). Downloads go to NAME.part, resume
with HTTP Range after a dropped connection, and are renamed into place only once the
whole file arrived and reads as a tarball, so a truncated file is never reused.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Callable

import requests

from corebench_runner.errors import UserError

UPSTREAM_CAPSULE_URL = "https://corebench.cs.princeton.edu/capsules/{capsule_id}.tar.gz"


def tarball_name(capsule_id: str) -> str:
    return f"{capsule_id}.tar.gz"


def _check_members(archive: tarfile.TarFile, tarball: Path, dest: Path) -> None:
    for member in archive.getmembers():
        if member.name.startswith(("/", "\\")) or ".." in Path(member.name).parts:
            raise UserError(f"{tarball}: refused entry {member.name!r} (absolute or parent path); "
                            "the tarball tries to write outside the capsule folder")
        try:
            tarfile.data_filter(member, str(dest))
        except tarfile.FilterError as exc:
            raise UserError(f"{tarball}: refused entry {member.name!r} ({exc}); "
                            "the tarball tries to write outside the capsule folder") from None


def unpack_capsule_tarball(tarball: Path, dest: Path) -> None:
    """Unpack a capsule tarball into dest, dropping a single top-level folder if there is one."""
    tarball = Path(tarball)
    try:
        archive = tarfile.open(tarball, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise UserError(f"{tarball}: not a readable tarball ({exc}); download it again") from None
    with archive, tempfile.TemporaryDirectory(prefix="corebench-unpack-", dir=dest.parent) as tmp:
        tmp_path = Path(tmp)
        _check_members(archive, tarball, tmp_path)
        try:
            archive.extractall(tmp_path, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise UserError(f"{tarball}: cannot unpack ({exc}); the file may be truncated: download it again") from None
        top = [p for p in tmp_path.iterdir()]
        root = top[0] if len(top) == 1 and top[0].is_dir() and top[0].name not in ("code", "data", "results", "environment") else tmp_path
        dest.mkdir(parents=True, exist_ok=True)
        for entry in root.iterdir():
            shutil.move(str(entry), dest / entry.name)


def _is_complete_tarball(path: Path) -> bool:
    try:
        with tarfile.open(path, "r:*") as archive:
            for _ in archive:
                pass
        return True
    except (tarfile.TarError, OSError, EOFError):
        return False


def download_tarball(
    capsule_id: str,
    dest_dir: Path,
    url_template: str = UPSTREAM_CAPSULE_URL,
    attempts: int = 5,
    backoff: float = 1.0,
    timeout: float = 60.0,
    on_progress: Callable[[int, int | None], None] | None = None,
    url: str | None = None,
) -> Path:
    """Fetch capsule-ID.tar.gz into dest_dir (reusing a complete copy); return its path.

    url, when given (a Croissant record's capsule_url), wins over url_template.
    """
    final = Path(dest_dir) / tarball_name(capsule_id)
    source = url or url_template.format(capsule_id=capsule_id)

    def check(part: Path) -> str | None:
        return None if _is_complete_tarball(part) else "the downloaded file is not a complete tarball"

    return download_file(source, final, check, attempts=attempts, backoff=backoff, timeout=timeout,
                         on_progress=on_progress)


def download_file(
    url: str,
    final: Path,
    check: Callable[[Path], str | None],
    attempts: int = 5,
    backoff: float = 1.0,
    timeout: float = 60.0,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Fetch url into final via final.part (resumed, retried); `check` names what is wrong with a whole file.

    A complete file already at `final` is reused. A file that arrives whole but fails the
    check is deleted and fetched once more (a second bad copy is not a transient fault).
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.is_file():
        return final
    part = final.with_name(final.name + ".part")
    last_error = ""
    bad_copies = 0
    tries = 0
    for tries in range(1, attempts + 1):
        if tries > 1:
            time.sleep(backoff * 2 ** (tries - 2))
        try:
            if _fetch_into(url, part, timeout, on_progress):
                problem = check(part)
                if problem is None:
                    part.rename(final)
                    return final
                last_error = problem
                part.unlink()
                bad_copies += 1
                if bad_copies == 2:
                    break
        except requests.RequestException as exc:
            last_error = str(exc)
    kept = f"partial data kept in {part}" if part.exists() else "nothing kept"
    raise UserError(f"{url}: download failed after {tries} attempts ({last_error}); "
                    f"try again later ({kept}) or pass --tarballs DIR")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch_into(url: str, part: Path, timeout: float, on_progress) -> bool:
    """Append the rest of url to part. True when the server says the file is complete."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    with requests.get(url, headers=headers, stream=True, timeout=timeout) as response:
        if response.status_code == 416:  # we already hold every byte
            return True
        if response.status_code == 404:
            raise UserError(f"{url}: not found (404); check the capsule id")
        response.raise_for_status()
        if have and response.status_code != 206:
            have = 0  # the server ignored Range: start over rather than append twice
        total = _expected_total(response, have)
        mode = "ab" if have else "wb"
        with open(part, mode) as out:
            for chunk in response.iter_content(chunk_size=1 << 16):
                out.write(chunk)
                have += len(chunk)
                if on_progress:
                    on_progress(have, total)
    return total is None or have >= total


def _expected_total(response: requests.Response, offset: int) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    if "/" in content_range and not content_range.endswith("/*"):
        return int(content_range.rsplit("/", 1)[1])
    length = response.headers.get("Content-Length")
    return offset + int(length) if length is not None else None
