"""Is a store file safe to write? One line for every way SQLite can fail on one."""

from __future__ import annotations

import errno
import shlex
import shutil
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from corebench_runner.errors import UserError

QUICK_CHECK_LIMIT = 3  # problems read before a store is refused: the first is named, the rest counted
LOW_SPACE_BYTES = 1024 * 1024  # below this, an I/O error of SQLite is the disk being full


def recovery_hint(path: Path) -> str:
    recovered = path.with_name(f"{path.stem}-recovered{path.suffix}")
    # .dump skips what it cannot read, then ends in ROLLBACK; turning that into COMMIT keeps the rest.
    # (.recover would be the tool, but Debian's sqlite3 lacks the sqlite_dbpage table it needs.)
    # Damaged text can hold bytes that are no UTF-8, which every later read would trip on: iconv -c drops them.
    keep_rest = shlex.quote("s/^ROLLBACK; -- due to errors$/COMMIT;/")
    return (f"restore a backup, or save what is readable with `sqlite3 {shlex.quote(str(path))} .dump | "
            f"iconv -f utf-8 -t utf-8 -c | sed {keep_rest} | sqlite3 {shlex.quote(str(recovered))}` "
            f"and pass --store {recovered}")


def store_failure(path: Path, exc: BaseException) -> str:
    """One line for any SQLite failure of a store: a full disk, a damaged file, a file that is no store."""
    text = str(exc)
    if disk_full(path, exc):
        return f"{path}: the disk holding the store is full ({text}); the store is intact and nothing more was " \
               "written. Free space there, then run the command again (a run: `corebench run --resume RUN`)"
    if "locked" in text or "busy" in text:
        return f"{path}: the store stayed locked by another process ({text}); try again when it is done"
    return f"{path}: the store is damaged or not a corebench store ({text}); it was left untouched. " \
           f"{recovery_hint(path)}"


def disk_full(path: Path, exc: BaseException) -> bool:
    """Whether SQLite failed for want of space: SQLITE_FULL, or an I/O error (growing the -shm file or
    the journal) with next to no space left where the store is. A healthy file must never be called damaged."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == sqlite3.SQLITE_FULL or "full" in str(exc) or getattr(exc, "errno", None) == errno.ENOSPC:
        return True
    if primary in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN) or "disk I/O error" in str(exc):
        try:
            return shutil.disk_usage(path.parent if str(path.parent) else Path(".")).free < LOW_SPACE_BYTES
        except OSError:
            return False
    return False


@contextmanager
def no_leftovers(path: Path) -> Iterator[None]:
    """On failure, remove the -wal and -shm files this attempt made beside the store, when they hold
    nothing (a refused store stays as it was found). Files that were there before are never touched."""
    sidecars = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    existed = {sidecar: sidecar.exists() for sidecar in sidecars}
    try:
        yield
    except BaseException:
        wal, shm = sidecars
        made_empty_wal = not existed[wal] and (not wal.exists() or wal.stat().st_size == 0)
        if made_empty_wal:
            for sidecar in sidecars:
                if not existed[sidecar]:
                    sidecar.unlink(missing_ok=True)
        raise


def check_intact(path: Path) -> None:
    """Refuse a damaged store before anything writes to it, in one line (`corebench doctor --store`
    lists every problem).

    A read-only connection runs `PRAGMA quick_check` (every page and index entry, no cross-checks of
    index contents; benchmarks/store_quick_check.py measures it) and never checkpoints or writes.
    """
    try:
        with no_leftovers(path):
            problems = store_problems(path, limit=QUICK_CHECK_LIMIT)
            if problems:
                more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
                raise UserError(f"{path}: the store is damaged ({problems[0]}{more}, all listed by corebench doctor "
                                f"--store {shlex.quote(str(path))}) and was left untouched; {recovery_hint(path)}")
    except sqlite3.DatabaseError as exc:
        raise UserError(store_failure(path, exc)) from None


def store_problems(path: Path, limit: int = 100) -> list[str]:
    """What `PRAGMA quick_check` finds wrong with a store, one problem a line ([] when it is intact).
    SQLite raises sqlite3.DatabaseError for a file it cannot read at all."""
    rows: list[str] = []
    for tried in sorted({limit, QUICK_CHECK_LIMIT, 1}, reverse=True):
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            rows = [row[0] for row in conn.execute(f"PRAGMA quick_check({int(tried)})")]
            break
        except sqlite3.DatabaseError:  # past a few problems SQLite may give up on the file: ask for fewer
            if tried == 1:
                raise
        finally:
            conn.close()
    if rows == ["ok"]:
        return []
    lines = [line.strip() for row in rows for line in str(row).splitlines()]
    return [line for line in lines if line and not line.startswith("*** in database")]
