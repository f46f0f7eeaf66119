"""How a store is refused, through the real `corebench` command and real SQLite files.

A full disk under a healthy store (a real 4 MB tmpfs filled to the last byte) is reported as a full
disk by every command, never as a damaged store with advice to restore a backup. A damaged store
with several problems is refused in one line naming the first (`doctor --store` lists them all).
Either way nothing is left beside the store.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from corebench_runner.store.database import open_store
from support_store import QA, SampleTask, add_run
from test_store_faults import (  # noqa: F401 (small_disk is a fixture)
    _corebench,
    _digest,
    _fill,
    _one_line_error,
    _sizable_store,
    small_disk,
)


@pytest.fixture
def full_disk_store(small_disk):  # noqa: F811
    store = small_disk / "results.sqlite"
    with open_store(store) as opened:
        add_run(opened, [SampleTask("capsule-1", [QA("Report q.", 0.5, [0.5] * 3, "correct", "inside")])],
                run_id="run-1")
    _fill(small_disk)
    return store


@pytest.mark.parametrize("command", [["runs"], ["show", "run-1"], ["show", "run-1", "--json"],
                                     ["report", "--out", "SITE"], ["regrade", "run-1", "--grader", "corebench"], ["review", "log"]])
def test_every_command_on_a_full_disk_says_the_disk_is_full(full_disk_store, tmp_path, command):
    before = _digest(full_disk_store)
    args = [str(tmp_path / "site") if word == "SITE" else word for word in command]
    line = _one_line_error(_corebench(*args, "--store", str(full_disk_store)))
    assert "disk holding the store is full" in line and "damaged" not in line and "backup" not in line, line
    assert _digest(full_disk_store) == before
    assert sorted(p.name for p in full_disk_store.parent.iterdir()) == ["filler", "results.sqlite"]


def _damaged_in_several_places(path: Path) -> None:
    """Four b-tree pages with impossible headers: quick_check reports each on a line of its own."""
    _sizable_store(path)
    data = bytearray(path.read_bytes())
    for page in (10, 20, 30, 40):
        data[4096 * page:4096 * page + 16] = bytes([0x0D, 0xFF, 0xFF, 0x7F, 0xFF]) + bytes(11)
    path.write_bytes(bytes(data))


def test_a_store_damaged_in_several_places_is_refused_in_one_line_and_doctor_lists_every_problem(tmp_path):
    store = tmp_path / "results.sqlite"
    _damaged_in_several_places(store)
    before = _digest(store)
    line = _one_line_error(_corebench("runs", "--store", str(store)))
    assert "the store is damaged (Page " in line and "doctor --store" in line, line
    more = re.search(r"and (\d+) more", line)
    assert more and int(more.group(1)) >= 1, line  # several problems, one line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.sqlite"]  # no empty -wal, -shm
    doctor = _corebench("doctor", "--store", str(store))
    assert doctor.returncode == 2 and "Traceback" not in doctor.stderr
    failed = [line for line in doctor.stdout.splitlines() if line.startswith("FAIL")]
    # Every problem the refusal counted, each one of the damaged pages (1-based), whichever tables they hold.
    assert len(failed) == 1 + int(more.group(1)), doctor.stdout
    assert {f"FAIL  {store}: Page {page}: btreeInitPage() returns error code 11" for page in (11, 21, 31, 41)} \
        >= set(failed), doctor.stdout
    assert _digest(store) == before and sorted(p.name for p in tmp_path.iterdir()) == ["results.sqlite"]
    healthy = tmp_path / "healthy.sqlite"
    _sizable_store(healthy)
    ok = _corebench("doctor", "--store", str(healthy))
    assert ok.returncode == 0 and f"ok    {healthy}: intact" in ok.stdout
