"""A damaged store and a full disk, through the real `corebench` command and real SQLite files.

A damaged store is refused in one line and never written; a full disk is one line and leaves the
run as it was (a resume while still full does not flip it to `running`).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corebench_runner.store.database import open_store
from support_run import make_suite
from support_store import QA, SampleTask, add_run

CORE = Path(sys.executable).parent / "corebench"


def _corebench(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(CORE), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONWARNINGS": "ignore::UserWarning", **(env or {})})


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sizable_store(path: Path) -> None:
    """A store of a few hundred tasks, so its middle is tables and indexes, not free pages."""
    with open_store(path) as store:
        for run in range(4):
            add_run(store, [SampleTask(f"capsule-{i}", [QA(f"Report quantity {q} of the model.", 0.5 + q,
                                                           [0.5 + q] * 3, "correct", "inside the interval")
                                                        for q in range(4)]) for i in range(60)],
                    run_id=f"run-{run}")


def _damage(path: Path, size: int = 8192) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + size] = random.Random(16).randbytes(size)
    path.write_bytes(bytes(data))


def test_a_store_with_random_bytes_in_its_middle_is_refused_in_one_line_and_left_untouched(tmp_path: Path):
    store = tmp_path / "results.sqlite"
    _sizable_store(store)
    assert store.stat().st_size > 200_000
    _damage(store)
    before = _digest(store)
    suite = make_suite(tmp_path / "suite", ["good-a"])

    commands = {
        "runs": ["runs", "--store", str(store)],
        "report": ["report", "--out", str(tmp_path / "site"), "--store", str(store)],
        "review list": ["review", "list", "--store", str(store)],
        "run": ["--suite", str(suite), "run", "--scaffold", "behave", "--capsules", "good-a", "--sandbox", "local",
                "--store", str(store)],
    }
    for name, args in commands.items():
        line = _one_line_error(_corebench(*args))
        assert str(store) in line and "damaged" in line, (name, line)
        assert ".dump" in line, (name, line)  # names the way to save what is readable
        assert _digest(store) == before, f"`corebench {name}` changed the damaged store"
    assert not (tmp_path / "site").exists()
    assert not (tmp_path / "results-artifacts").exists()  # the run wrote nothing beside it either


def test_the_recovery_command_the_refusal_names_saves_what_is_readable(tmp_path: Path):
    store = tmp_path / "results.sqlite"
    _sizable_store(store)
    _damage(store)
    line = _one_line_error(_corebench("runs", "--store", str(store)))
    command = line.split("`")[1]  # `sqlite3 STORE .dump | sed ... | sqlite3 NEW`
    recovered = Path(line.rsplit("--store ", 1)[1])
    subprocess.run(command, shell=True, check=True, capture_output=True, timeout=120)
    listed = _corebench("runs", "--json", "--store", str(recovered))
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)
    assert {run["id"] for run in runs} == {f"run-{i}" for i in range(4)}
    # The rows the damage spared are readable again: 8 KiB of noise in a 240-task store costs a few pages
    # at most (which ones depends on the schema's layout).
    assert 200 <= sum(run["tasks_done"] for run in runs) <= 240


def test_a_file_that_is_no_database_is_one_line(tmp_path: Path):
    store = tmp_path / "results.sqlite"
    store.write_bytes(random.Random(3).randbytes(64 * 1024))
    line = _one_line_error(_corebench("runs", "--store", str(store)))
    assert str(store) in line and "untouched" in line


def test_a_store_that_fails_after_it_opened_is_one_line_naming_it(tmp_path: Path):
    """A hand-edited store (a table dropped): the query's sqlite3 error reaches the user as one line."""
    store = tmp_path / "results.sqlite"
    _sizable_store(store)
    conn = sqlite3.connect(store)
    conn.execute("DROP TABLE reviews")
    conn.commit()
    conn.close()
    line = _one_line_error(_corebench("runs", "--store", str(store)))
    assert str(store) in line and "no such table: reviews" in line


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 4 MB filesystem of the test's own (a tmpfs; mounting needs root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    """Fill the filesystem to the last byte, for real (writes until ENOSPC)."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 65536)
        except OSError:
            pass
        try:
            while True:  # the last partial block
                out.write(b"\0")
        except OSError:
            pass
    return filler


def _run_status(store: Path) -> str:
    return _one_value(store, "SELECT status FROM runs")


def _run_id(store: Path) -> str:
    return _one_value(store, "SELECT id FROM runs")


def _one_value(store: Path, sql: str):
    conn = sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def test_a_full_disk_is_one_line_and_leaves_the_run_as_it_was(tmp_path: Path, small_disk: Path):
    suite = make_suite(tmp_path / "suite", ["good-a", "slow-b"])
    store = small_disk / "results.sqlite"
    env = {"BEHAVE_SLEEP": "120", "COREBENCH_SUITE": str(suite)}
    # A real run, interrupted with Ctrl-C once its first task is recorded.
    process = subprocess.Popen([str(CORE), "run", "--scaffold", "behave", "--all", "--sandbox", "local",
                                "--store", str(store), "--quiet"], env={**os.environ, **env}, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(store, timeout=30) as conn:
                if conn.execute("SELECT COUNT(*) FROM tasks WHERE status = 'done'").fetchone()[0] == 1:
                    break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert _run_status(store) == "interrupted"

    run_id = _run_id(store)
    filler = _fill(small_disk)
    resumed = _corebench("run", "--resume", run_id, "--store", str(store), env=env)
    line = _one_line_error(resumed)
    assert "full" in line and str(small_disk) in line
    assert _run_status(store) == "interrupted"  # not flipped to running
    # A new run on the full disk: one line as well, and the interrupted run is still as it was.
    fresh = _corebench("run", "--scaffold", "behave", "--capsules", "good-a", "--sandbox", "local",
                       "--store", str(store), env=env)
    assert "full" in _one_line_error(fresh)
    assert _run_status(store) == "interrupted"

    filler.unlink()
    done = _corebench("run", "--resume", run_id, "--store", str(store), env={**env, "BEHAVE_SLEEP": "0"})
    assert done.returncode == 0, done.stderr
    assert _run_status(store) == "finished"


BIG_TRANSCRIPT_SCAFFOLD = '''
"""Answers right, with a transcript of a few megabytes (to fill a small disk as it is saved)."""
import json

from corebench_runner.records import Submission

RIGHT = %(right)s


class Verbose:
    name = "verbose"
    version = "1"
    needs_model = False

    def run(self, task, sandbox, model, limits):
        sandbox.write_file(task.report_path, json.dumps(RIGHT))
        return Submission(answers=RIGHT, transcript=[{"type": "note", "text": "x" * 3_000_000}], steps=1)


SCAFFOLD = Verbose()
'''


def test_a_disk_that_fills_up_during_a_run_is_one_line_and_the_run_stays_resumable(tmp_path: Path,
                                                                                    small_disk: Path):
    from support_run import RIGHT

    suite = make_suite(tmp_path / "suite", ["good-a", "good-b"])
    (suite / "scaffolds" / "verbose.py").write_text(BIG_TRANSCRIPT_SCAFFOLD % {"right": repr(RIGHT)})
    store = small_disk / "results.sqlite"
    result = _corebench("--suite", str(suite), "run", "--scaffold", "verbose", "--all", "--sandbox", "local",
                        "--concurrency", "1", "--store", str(store), "--quiet")
    line = _one_line_error(result)
    assert "no space left" in line and str(store.parent / "results-artifacts") in line
    assert "corebench run --resume 2" in line  # the run's own id
    conn = sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True)
    try:
        done, status = conn.execute("SELECT (SELECT COUNT(*) FROM tasks WHERE status = 'done'), status FROM runs")\
            .fetchone()
        transcripts = conn.execute("SELECT transcript_path FROM tasks WHERE status = 'done'").fetchall()
    finally:
        conn.close()
    assert done == 1 and status == "interrupted"
    # The task that could not be saved left no half-written artifacts behind; the recorded one is whole.
    (recorded,) = transcripts
    run_dir = store.parent / "results-artifacts"
    assert sorted(p.name for p in (run_dir / recorded[0]).parent.parent.iterdir()) == \
        [Path(recorded[0]).parent.name]
