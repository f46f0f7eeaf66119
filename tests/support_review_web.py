"""A store for the web review tests, and the real `corebench review --web` running as a child process.

    store, ids = review_store(tmp_path / "results.sqlite")
    with review_server(store.path, "--reviewer", "alice") as server:   # the installed command
        requests.get(server.url)
    with thread_server(store.path, "alice") as url:                      # the same, in a thread
        requests.get(url)

The store (built through the store's own write functions, tests/support_store.py) holds one run
of four tasks: a figure question with a figure the agent viewed and one it produced (real PNGs
drawn by matplotlib), a rounded numeric answer, an answer and transcript full of script, and a
correct task. Automatic accuracy 1/4; settling the figure and the number as correct gives 3/4.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from corebench_runner.review_web.pages import Filters  # noqa: E402
from corebench_runner.review_web.server import start  # noqa: E402
from corebench_runner.store.database import Store, open_store  # noqa: E402
from support_report import HOSTILE_IMG, HOSTILE_LINK, HOSTILE_SCRIPT, HOSTILE_TEXT  # noqa: E402
from support_store import ACCURACY_Q, FIG_Q, LOSS_Q, QA, SampleTask, add_run, bash_call, model_call  # noqa: E402

CONSOLE_SCRIPT = Path(sys.executable).parent / "corebench"
RUN_ID = "run-web-0001"
XSS_Q = "Which model name does the paper report best?"
HOSTILE_REPORTED = f"{HOSTILE_SCRIPT}{HOSTILE_IMG}"


def red_curve_png(peak: float = 14.2) -> bytes:
    """A real PNG of a red curve peaking at `peak`, as a capsule's fig 2 would be."""
    figure, axes = plt.subplots(figsize=(4, 3), dpi=80)
    xs = [i / 10 for i in range(100)]
    axes.plot(xs, [peak - (x - 5) ** 2 / 2 for x in xs], color="red")
    axes.set_title("Fig 2")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


@dataclass
class ReviewIds:
    figure: int
    number: int
    hostile: int
    correct: int


def review_store(path: Path) -> tuple[Store, ReviewIds]:
    png = red_curve_png()
    viewed = {"type": "image", "path": "/workspace/results/fig2.png", "media_type": "image/png",
              "bytes_b64": base64.b64encode(png).decode()}
    tasks = [
        SampleTask("capsule-fig", [QA(FIG_Q, 14, [14.2, 14.2, 14.2], "disputed", "read from a figure")],
                   transcript=[model_call("I will draw figure 2."),
                               bash_call("python code/plot.py", "saved results/fig2.png\n"),
                               {"type": "tool_call", "name": "view_image",
                                "input": {"path": "/workspace/results/fig2.png"}, "output": "shown"},
                               viewed],
                   produced={"fig2.png": png, "notes.txt": b"peak near 14\n",
                             "evil.svg": b"<svg xmlns='http://www.w3.org/2000/svg' onload='window.__pwned=1'/>"}),
        SampleTask("capsule-num", [QA(ACCURACY_Q, 0.93, [0.9312, 0.9312, 0.9312], "disputed",
                                      "0.93 equals the references rounded to 2 decimals")],
                   transcript=[bash_call("cd /workspace/code && python train.py --epochs 10",
                                         "epoch 10 loss 0.05\ntest accuracy: 0.93\ndone\n")]),
        SampleTask("capsule-ok", [QA(LOSS_Q, 0.12, [0.12, 0.12, 0.12], "correct", "inside the interval")]),
        SampleTask("capsule-xss", [QA(XSS_Q, HOSTILE_REPORTED, ["ResNet", "ResNet", "ResNet"], "disputed",
                                      f"close to {HOSTILE_LINK}")],
                   transcript=[model_call(HOSTILE_TEXT),
                               {"type": "note", "text": HOSTILE_LINK},
                               bash_call(f"echo '{HOSTILE_SCRIPT}'", f"{HOSTILE_TEXT}\n{HOSTILE_REPORTED}\n")]),
    ]
    store = open_store(path)
    add_run(store, tasks, run_id=RUN_ID)
    ids = {row["capsule_id"]: row["id"] for row in store.query(
        "SELECT tasks.capsule_id, answers.id FROM answers JOIN tasks ON tasks.id = answers.task_id")}
    return store, ReviewIds(ids["capsule-fig"], ids["capsule-num"], ids["capsule-xss"], ids["capsule-ok"])


@contextmanager
def thread_server(store_path: Path, reviewer: str, filters: Filters | None = None) -> Iterator[str]:
    """The same app and server in a thread of this process (quicker to start); yields its address."""
    server, viewed_dir = start(store_path, filters or Filters(), reviewer, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}/"
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(viewed_dir, ignore_errors=True)


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    lines: list[str]  # everything it printed so far

    def output(self) -> str:
        return "".join(self.lines)


@contextmanager
def review_server(store_path: Path, *args: str) -> Iterator[Server]:
    """`corebench review --web --port 0 --store PATH ARGS...` as a child process, stopped with Ctrl-C (SIGINT)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([str(CONSOLE_SCRIPT), "review", "--store", str(store_path), "--web", "--port", "0",
                                *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    found = threading.Event()

    def read() -> None:
        for line in process.stdout:
            lines.append(line)
            if "Review at http" in line:
                found.set()
        found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        found.wait(timeout=60)
        match = re.search(r"Review at (http://\S+)", "".join(lines))
        assert match, f"the server printed no address:\n{''.join(lines)}"
        yield Server(process, match.group(1), lines)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        reader.join(timeout=5)
