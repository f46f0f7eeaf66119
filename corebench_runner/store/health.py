"""Is a store file safe to write? One line for every way SQLite can fail on one."""

from __future__ import annotations

import shlex
import sqlite3
from pathlib import Path

from corebench_runner.errors import UserError


def recovery_hint(path: Path) -> str:
    recovered = path.with_name(f"{path.stem}-recovered{path.suffix}")
    # .dump skips what it cannot read, then ends in ROLLBACK; turning that into COMMIT keeps the rest.
    # (.recover would be the tool, but Debian's sqlite3 lacks the sqlite_dbpage table it needs.)
    keep_rest = shlex.quote("s/^ROLLBACK; -- due to errors$/COMMIT;/")
    return (f"restore a backup, or save what is readable with `sqlite3 {shlex.quote(str(path))} .dump | "
            f"sed {keep_rest} | sqlite3 {shlex.quote(str(recovered))}` and pass --store {recovered}")


def store_failure(path: Path, exc: BaseException) -> str:
    """One line for any SQLite failure of a store: a full disk, a damaged file, a file that is no store."""
    text = str(exc)
    if "full" in text:
        return f"{path}: the disk holding the store is full ({text}); nothing more was written. Free space there, " \
               "then resume with `corebench run --resume RUN`"
    if "locked" in text or "busy" in text:
        return f"{path}: the store stayed locked by another process ({text}); try again when it is done"
    return f"{path}: the store is damaged or not a corebench store ({text}); it was left untouched. " \
           f"{recovery_hint(path)}"


def check_intact(path: Path) -> None:
    """Refuse a damaged store before anything writes to it.

    A read-only connection runs `PRAGMA quick_check` (every page and index entry, no cross-checks of
    index contents; benchmarks/store_quick_check.py measures it) and never checkpoints or writes.
    """
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise UserError(store_failure(path, exc)) from None
    if problems != ["ok"]:
        raise UserError(f"{path}: the store is damaged ({problems[0]}) and was left untouched; {recovery_hint(path)}")
