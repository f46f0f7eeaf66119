"""`corebench review` in a real pseudo-terminal, as a reviewer over ssh or in tmux meets it.

The installed console script runs as a child process on a pty 80 columns wide; the test
types answers (with the terminal echoing them), Ctrl-C and Ctrl-D, then reads the store.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios
import time
from pathlib import Path

import pytest

from corebench_runner.review.verdicts import history, review_log
from corebench_runner.store.results import run_summary
from support_store import ACCURACY_Q, BEST_Q, FIG_Q, QA, SampleTask, add_run, bash_call, dispute_store

CONSOLE_SCRIPT = Path(sys.executable).parent / "corebench"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """A child process on a pseudo-terminal of a given size, read and typed into like a person would."""

    def __init__(self, argv: list[str], cols: int = 80, rows: int = 24) -> None:
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes the command, with the pty as its terminal
            os.execve(argv[0], argv, env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.screen = ""
        self.seen = 0

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not chunk:
            return False
        self.screen += ANSI.sub("", chunk.decode("utf-8", "replace")).replace("\r\n", "\n")
        return True

    def expect(self, text: str, timeout: float = 30) -> str:
        """Wait until `text` appears after what was already matched; return the output up to it."""
        deadline = time.monotonic() + timeout
        while text not in self.screen[self.seen:]:
            if time.monotonic() > deadline or not self._read(0.2):
                raise AssertionError(f"waited for {text!r}; the terminal shows:\n{self.screen[self.seen:]}")
        end = self.screen.index(text, self.seen) + len(text)
        part, self.seen = self.screen[self.seen:end], end
        return part

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def finish(self, timeout: float = 30) -> int:
        """Read to the end and return the exit code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(0.2):
            pass
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)


@pytest.fixture
def sample(tmp_path):
    store, run_id = dispute_store(tmp_path / "results.sqlite")
    yield store, run_id
    store.close()


def review_terminal(store, *args: str) -> Terminal:
    return Terminal([str(CONSOLE_SCRIPT), "review", "--store", str(store.path), *args])


def test_a_reviewer_settles_disputes_in_a_terminal(sample):
    store, run_id = sample
    term = review_terminal(store, "--reviewer", "alice")
    first = term.expect("Verdict: [c]orrect, [i]ncorrect, [s]kip, [q]uit: ")
    assert "1 of 3" in first and ACCURACY_Q in first and "Reported    0.93" in first
    assert "$ cd /workspace/code && python train.py --epochs 10" in first
    screen = first[first.index("== 1 of 3"):]
    screen_lines = [line for line in screen.splitlines() if not line.startswith("Transcript")]
    assert max(len(line) for line in screen_lines) <= 80  # readable over ssh, no mouse, no wide panes
    term.type("c\r")
    term.expect("Reason (required for a change): ")
    term.type("\r")  # refused: a change needs a reason
    term.expect("A change of verdict needs a reason")
    term.type("reported 0.93 is 0.9312 rounded\r")
    term.expect("recorded: disputed -> correct by alice")
    second = term.expect("[q]uit: ")
    assert BEST_Q in second and '"Adam W"' in second
    term.type("s\r")
    third = term.expect("[q]uit: ")
    assert FIG_Q in third and "(none kept)" in third
    term.type("i\r")
    term.expect("Reason (required for a change): ")
    term.type("the peak is 14.2, not 14\r")
    end = term.expect("open disputes")
    assert term.finish() == 0
    assert "2 verdict(s) recorded, 1 skipped, 1 open dispute(s) left." in end
    assert ("accuracy 20.0% automatic, 40.0% verified (2 of 5 valid tasks; provisional: 2 of 4 not-correct answers "
            "reviewed), 1 open disputes") in end

    trail = review_log(store)
    assert [(e.key.capsule_id, e.record.reviewer, e.record.old_status, e.record.new_status, e.record.reason)
            for e in trail] == [
        ("capsule-b", "alice", "disputed", "correct", "reported 0.93 is 0.9312 rounded"),
        ("capsule-d", "alice", "disputed", "incorrect", "the peak is 14.2, not 14"),
    ]
    summary = run_summary(store, run_id)
    assert (summary.accuracy, summary.verified_accuracy, summary.open_disputes) == (0.2, 0.4, 1)

    log = Terminal([str(CONSOLE_SCRIPT), "review", "log", "--store", str(store.path)])
    text = log.expect("the peak is 14.2, not 14")
    assert log.finish() == 0
    assert text.index("disputed -> correct: reported 0.93") < text.index("disputed -> incorrect: the peak")


def test_ctrl_d_and_ctrl_c_stop_and_keep_what_was_decided(sample):
    store, run_id = sample
    term = review_terminal(store, "--reviewer", "bob")
    term.expect("[q]uit: ")
    term.type("c\r")
    term.expect("Reason (required for a change): ")
    term.type("rounding only\r")
    term.expect("recorded: disputed -> correct by bob")
    term.expect("[q]uit: ")
    term.type("i\r")
    term.expect("Reason (required for a change): ")
    term.type("\x04")  # Ctrl-D while asked for a reason: this half-made decision is dropped
    end = term.expect("open dispute(s) left.")
    assert term.finish() == 0
    assert "1 verdict(s) recorded, 0 skipped, 2 open dispute(s) left." in end
    assert "Traceback" not in term.screen

    again = review_terminal(store, "--reviewer", "bob")
    screen = again.expect("[q]uit: ")
    assert "1 of 2" in screen and BEST_Q in screen
    # CPython writes the prompt before it blocks in read(); a SIGINT landing in between waits for
    # the next key. A person never types that fast; the test waits as long as a person would.
    time.sleep(0.5)
    again.type("\x03")  # Ctrl-C
    again.expect("open dispute(s) left.")
    assert again.finish() == 0 and "Traceback" not in again.screen

    answer = store.conn.execute("SELECT answer_id FROM reviews").fetchone()[0]
    assert [(r.reviewer, r.new_status) for r in history(store, answer)] == [("bob", "correct")]
    assert run_summary(store, run_id).verified_correct == 2


def test_escape_sequences_an_agent_printed_reach_the_reviewer_as_text(tmp_path):
    """An agent's output may hold terminal escapes (clear screen, set the clipboard, retitle):
    the reviewer sees them spelled out, and the raw bytes never reach the terminal."""
    from corebench_runner.store.database import open_store

    hostile = "accuracy 0.5\x1b[2J\x1b]52;c;cm0gLXJmIH4=\x07\x1b]0;owned\x07 done"
    with open_store(tmp_path / "results.sqlite") as store:
        add_run(store, [SampleTask("capsule-x", [QA(ACCURACY_Q, "0.5\x1b[31m", [0.51] * 3, "disputed", "close")],
                                   transcript=[bash_call("python eval.py\x1b[1A", hostile)])])
        term = review_terminal(store, "--reviewer", "alice")
        raw = b""
        deadline = time.monotonic() + 30
        while b"[q]uit: " not in raw and time.monotonic() < deadline:
            ready, _, _ = select.select([term.fd], [], [], 0.2)
            if ready:
                raw += os.read(term.fd, 65536)
        term.type("q\r")
        assert term.finish() == 0
    text = raw.decode()
    assert "\x1b" not in text and "\x07" not in text  # not one control byte from the agent
    assert r"accuracy 0.5\x1b[2J\x1b]52;c;cm0gLXJmIH4=\x07\x1b]0;owned\x07 done" in text
    assert r"$ python eval.py\x1b[1A" in text
    assert r'Reported    "0.5\u001b[31m"' in text
