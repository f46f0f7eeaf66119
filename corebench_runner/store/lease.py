"""Who is running a run: an owner lease (host:pid and a heartbeat) kept in the run's row.

A process that runs or resumes a run takes the lease in the same transaction that marks the run
`running`; a second process finds a live owner and is refused, while a dead owner's lease (its pid
gone on this host, or no heartbeat for LEASE_STALE_SECONDS from another host) is taken over. Tasks
are claimed and recorded only while the lease is still ours (store.claim_task / finish_task).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass, field

from corebench_runner.errors import UserError
from corebench_runner.store.database import Store, now_iso

HEARTBEAT_SECONDS = 5.0
LEASE_STALE_SECONDS = 60.0


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(owner: str, heartbeat: float | None, now: float | None = None) -> bool:
    """A lease holds while its heartbeat is fresh and, on this host, its process still exists."""
    now = time.time() if now is None else now
    if heartbeat is None or now - heartbeat > LEASE_STALE_SECONDS:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


@dataclass
class RunLease:
    """Ours while `lost` is unset; a thread renews it until release()."""

    store: Store
    run_id: str
    owner: str
    lost: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start_heartbeat(self) -> None:
        self._thread = threading.Thread(target=self._beat, name="corebench-lease", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        # Its own connection: the driver's may be inside a transaction at any moment.
        conn = sqlite3.connect(self.store.path, timeout=30, isolation_level=None)
        try:
            while not self._stop.wait(HEARTBEAT_SECONDS):
                try:
                    cur = conn.execute("UPDATE runs SET heartbeat = ? WHERE id = ? AND owner = ?",
                                       (time.time(), self.run_id, self.owner))
                except sqlite3.Error:  # a full disk or a busy store: try again next beat
                    continue
                if cur.rowcount == 0:
                    self.lost.set()
                    return
        finally:
            conn.close()

    def release(self, status: str) -> None:
        """Give the run up with its final status (only if it is still ours)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self.store.transaction() as conn:
            conn.execute("UPDATE runs SET owner = NULL, heartbeat = NULL, status = ?, finished = ? "
                         "WHERE id = ? AND owner = ?",
                         (status, now_iso() if status != "running" else None, self.run_id, self.owner))


def acquire(store: Store, run_id: str) -> RunLease:
    """Take the run's lease and mark it running, in one transaction; one line when another process has it."""
    owner = this_process()
    with store.transaction() as conn:
        row = conn.execute("SELECT owner, heartbeat FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise UserError(f"no run {run_id!r} in {store.path}; list runs with `corebench runs`")
        if row["owner"] and row["owner"] != owner and owner_alive(row["owner"], row["heartbeat"]):
            ago = time.time() - row["heartbeat"]
            raise UserError(f"run {run_id} is being run by {row['owner']} (heartbeat {ago:.0f}s ago); let it finish "
                            f"or stop it, then `corebench run --resume {run_id}` takes over")
        conn.execute("UPDATE runs SET owner = ?, heartbeat = ?, status = 'running', finished = NULL WHERE id = ?",
                     (owner, time.time(), run_id))
    return RunLease(store=store, run_id=run_id, owner=owner)
