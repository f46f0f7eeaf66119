"""Unpack a tar stream from the engine onto the host, stopping at a size cap before going past it.

The engine sends a folder as one tar stream. Each member's header gives its size before its
data, so the running total is checked before a member is read: past the cap, nothing more is
read or written and CopyTooLarge says how much there was so far. Nothing is buffered whole.

Links are unpacked as links, never followed, so a cycle (`ln -s . results/loop`) costs nothing.
A link leading out of the copy (an absolute one, `/etc/passwd`) or a device file is left out, as
tarfile's "data" filter refuses it, and the rest is copied. The filter judges each link when it is
unpacked, against what is on disk then; a chain of relative links (`a -> b/..`, `b -> c/..`, ...,
`x -> a/etc/passwd`) unpacked in the right order passes it one link at a time. So once everything is
unpacked, drop_links_out resolves every link inside the copy and removes those that leave it.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from corebench_runner.sandbox.base import CopyTooLarge


class _ChunkReader(io.RawIOBase):
    """A readable file over an iterator of byte chunks (the engine's HTTP response)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:  # a generator over the HTTP response: stop reading it
            close()
        super().close()


def extract_capped(chunks: Iterable[bytes], host_dir: Path, max_bytes: int | None, source: str) -> None:
    """Extract the tar stream into host_dir; CopyTooLarge (and nothing of it left) past max_bytes of files."""
    reader = _ChunkReader(chunks)
    written: list[Path] = []
    total = 0
    try:
        with tarfile.open(fileobj=io.BufferedReader(reader, 1 << 20), mode="r|") as tar:
            for member in tar:
                total += member.size if member.isfile() else 0
                if max_bytes is not None and total > max_bytes:
                    raise CopyTooLarge(f"{source} holds more than {max_bytes} bytes (the copy stopped at "
                                       f"{total - member.size} bytes, before {member.name})")
                if not written:
                    written.append(host_dir / member.name.split("/")[0])
                try:
                    tar.extract(member, host_dir, filter="data")
                except tarfile.FilterError:  # a link out of the copy, a device: not the files asked for
                    continue
        for top in written:
            if top.is_dir() and not top.is_symlink():
                drop_links_out(top)
    except CopyTooLarge:
        for top in written:  # what was copied before the cap is incomplete: keep none of it
            shutil.rmtree(top, ignore_errors=True) if top.is_dir() else top.unlink(missing_ok=True)
        raise
    finally:
        reader.close()


def drop_links_out(root: Path) -> list[str]:
    """Remove every link under root that resolves outside it, however it gets there (chains of relative
    links, links through links); the paths removed, relative to root. Repeated until nothing changes,
    since removing one link changes where the links through it lead."""
    root_real = os.path.realpath(root)
    removed: list[str] = []
    while True:
        dropped = False
        for folder, folders, files in os.walk(root, followlinks=False):
            for name in folders + files:
                path = os.path.join(folder, name)
                if not os.path.islink(path):
                    continue
                resolved = os.path.realpath(path)
                if resolved != root_real and not resolved.startswith(root_real + os.sep):
                    os.unlink(path)
                    removed.append(os.path.relpath(path, root))
                    dropped = True
        if not dropped:
            return removed
