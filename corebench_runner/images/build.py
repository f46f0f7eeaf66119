"""Run one `docker build`, keeping its Dockerfile and log in a folder of its own.

The engine's output is streamed line by line into build.log (never held whole in memory),
and a failed build ends in one line that names that log. A `progress` callback hears the log's
path first, then each build step and, while a step runs long, its latest output line. A caller
that cannot pass one down (a scaffold plugin's `image_for` builds its own agent layer) names one
for every build in its block instead: `with builds_heard_by(callback):`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Callable

import docker.errors

from corebench_runner.errors import UserError
from corebench_runner.images.engine import client as engine_client

# Per thread (a context variable): concurrent tasks each hear their own builds.
_listener: ContextVar[Callable[[str], None] | None] = ContextVar("build_listener", default=None)


@contextmanager
def builds_heard_by(progress: Callable[[str], None] | None) -> Iterator[None]:
    """Every build in the block that was given no `progress` of its own reports to this one."""
    token = _listener.set(progress)
    try:
        yield
    finally:
        _listener.reset(token)


class BuildFailed(UserError):
    def __init__(self, what: str, log: Path, reason: str) -> None:
        self.log = log
        super().__init__(f"building {what} failed: {reason.strip()[:200]}; check {log}")


def run_build(context: Path, tag: str, log_dir: Path, labels: dict[str, str] | None = None,
              dockerfile: str = "Dockerfile", what: str | None = None, quiet: bool = True,
              buildargs: dict[str, str] | None = None, progress: Callable[[str], None] | None = None) -> str:
    """Build `context` as `tag`; returns the image id. Raises BuildFailed naming the log."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "build.log"
    (log_dir / "Dockerfile").write_bytes((context / dockerfile).read_bytes())
    client = engine_client()
    started = time.monotonic()
    image_id = None
    error = None
    shown = _ProgressLines(progress if progress is not None else _listener.get())
    shown.say(f"building {what or tag} (log: {log_path})")
    with log_path.open("w", encoding="utf-8") as log:
        log.write(f"# docker build -t {tag} {context}\n")
        try:
            stream = client.api.build(path=str(context), dockerfile=dockerfile, tag=tag, rm=True, forcerm=True,
                                      decode=True, labels=labels or {}, pull=False,
                                      buildargs=buildargs or {})
            for chunk in stream:
                if "stream" in chunk:
                    log.write(chunk["stream"])
                    shown.line(chunk["stream"])
                    if not quiet:
                        print(chunk["stream"], end="", flush=True)
                if "aux" in chunk and "ID" in chunk["aux"]:
                    image_id = chunk["aux"]["ID"]
                if "error" in chunk:
                    error = chunk["error"]
                    log.write(f"ERROR: {error}\n")
        except docker.errors.APIError as exc:
            error = str(exc)
            log.write(f"ERROR: {error}\n")
        log.write(f"# finished in {time.monotonic() - started:.1f} s\n")
    if error or image_id is None:
        raise BuildFailed(what or tag, log_path, error or "the engine reported no image")
    shown.say(f"built {tag} in {time.monotonic() - started:.0f} s")
    return image_id


class _ProgressLines:
    """Every `Step N/M` line, and otherwise at most one output line every few seconds (apt and pip are chatty)."""

    QUIET_SECONDS = 5.0
    WIDTH = 110

    def __init__(self, progress: Callable[[str], None] | None) -> None:
        self.progress = progress
        self.last = time.monotonic()

    def say(self, text: str) -> None:
        if self.progress is not None:
            self.progress(text)
            self.last = time.monotonic()

    def line(self, chunk: str) -> None:
        for text in chunk.splitlines():
            text = text.strip()
            if text.startswith("Step "):
                self.say(f"  {text[:self.WIDTH]}")
            elif text and not text.startswith("--->") and time.monotonic() - self.last >= self.QUIET_SECONDS:
                self.say(f"    ... {text[:self.WIDTH]}")
