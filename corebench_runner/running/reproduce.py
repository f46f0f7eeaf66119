"""Run a capsule's `reproduce` command once, before any question exists, and keep what it wrote.

This is the first step of authoring from code: build the environment image, run the code in a
container from a medium-level workspace (results/ emptied), and report every file the run
created or changed, with the values in it and the `extract` rule that reads each one. Files the
run wrote under results/ are copied into the capsule's results/ (what the easy level shows);
other files it wrote are listed but not kept. The code runs in the sandbox a run's task would get
(running/sandboxing.py): as the capsule's agent_user, under its limits and the engine's watchdog.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from corebench_runner.capsules import levels
from corebench_runner.capsules.format import Capsule
from corebench_runner.capsules.output_numbers import FoundValue, found_values
from corebench_runner.deadline import Deadline
from corebench_runner.errors import UserError
from corebench_runner.records import ExecResult
from corebench_runner.running.sandboxing import authoring_gpu, open_for, sandbox_spec
from corebench_runner.sandbox.labels import run_labels
from corebench_runner.sandbox.providers import provider_for
from corebench_runner.sandbox.watchdog import Watchdog

START_MARK = "/tmp/.corebench-reproduce-started"
MAX_READ_BYTES = 2_000_000  # values are looked for in files up to this size
MAX_LISTED_FILES = 200  # a run that writes thousands of files (checkpoints, caches) lists the first ones
TAIL_CHARS = 1500


@dataclass
class ProducedFile:
    path: str  # relative to the capsule's top folder
    size: int
    values: list[FoundValue] = field(default_factory=list)
    kept: bool = False  # copied into the capsule's results/


@dataclass
class Reproduction:
    command: str
    image: str
    exit_code: int
    timed_out: bool
    seconds: float
    output_tail: str
    files: list[ProducedFile]

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


def _require_command(capsule: Capsule) -> str:
    if not capsule.reproduce.strip():
        raise UserError(f"{capsule.toml_path}: reproduce is empty; set it to the command that runs the code from "
                        "the capsule's top folder, e.g. reproduce = \"Rscript code/analysis.R\"")
    if "medium" not in capsule.supported_levels():
        raise UserError(f"{capsule.path}: needs environment/Dockerfile and REPRODUCING.md to run the code "
                        "(`corebench capsule new` writes both)")
    return capsule.reproduce


def _tail(text: str) -> str:
    return text if len(text) <= TAIL_CHARS else "..." + text[-TAIL_CHARS:]


def reproduce(capsule: Capsule, progress: Callable[[str], None] | None = None, keep: bool = True,
              sandbox_kind: str = "docker") -> Reproduction:
    """Build the environment, run `reproduce` once, and return what it produced (kept into results/)."""
    from corebench_runner import images

    command = _require_command(capsule)
    provider = provider_for(sandbox_kind)
    provider.preflight()
    use_gpu = authoring_gpu(capsule, sandbox_kind)
    image = "none"
    if provider.uses_images:
        image = images.environment_image(capsule, progress=progress, sandbox_kind=sandbox_kind)
    time_limit = float(capsule.resources.time_limit)
    # Labelled as a run of its own, so `corebench clean` finds what a killed reproduction leaves.
    spec = sandbox_spec(capsule, image, run_labels(f"reproduce-{capsule.id}-{secrets.token_hex(3)}"), gpu=use_gpu,
                        wall_seconds=time_limit)
    if progress:
        progress(f"running `{command}` in {image} (time limit {capsule.resources.time_limit} s)")
    with tempfile.TemporaryDirectory(prefix="corebench-reproduce-") as tmp:
        workspace = levels.prepare(capsule, "medium", Path(tmp) / "workspace")
        deadline = Deadline.after(time_limit)
        sandbox, task = open_for(sandbox_kind, spec, workspace, deadline)
        root = task.workspace_dir
        files: list[ProducedFile] = []
        with sandbox, Watchdog(sandbox, spec.watchdog_seconds, deadline) as watchdog:
            try:
                sandbox.exec(["touch", START_MARK])  # what is newer than this file, the run created or changed
                result = sandbox.exec(command, timeout=time_limit, workdir=root)
                listing = sandbox.exec(["find", root, "-type", "f", "-newer", START_MARK, "-printf", "%s %P\\n"])
                files = _read_produced(sandbox, root, listing.stdout, Path(tmp) / "out")
            except Exception:
                if not watchdog.fired:
                    raise
                result = ExecResult(exit_code=-1, stdout="", stderr=f"[corebench: stopped by the engine after "
                                    f"{spec.watchdog_seconds:g}s]\n", timed_out=True, seconds=spec.watchdog_seconds)
        kept = _keep_results(capsule, Path(tmp) / "out", files) if keep else files
    return Reproduction(command, image, result.exit_code, result.timed_out, round(result.seconds, 1),
                        _tail((result.stdout or "") + (result.stderr or "")), kept)


def _read_produced(sandbox, root: str, listing: str, out_dir: Path) -> list[ProducedFile]:
    files = []
    for line in sorted(listing.splitlines(), key=lambda entry: not entry.partition(" ")[2].startswith("results/")):
        if len(files) == MAX_LISTED_FILES:
            break
        size_text, _, relative = line.partition(" ")
        if not relative or relative.startswith(".corebench") or relative == levels.REPORT_NAME:
            continue
        produced = ProducedFile(relative, int(size_text) if size_text.isdigit() else 0)
        if produced.size <= MAX_READ_BYTES:
            data = sandbox.read_file(f"{root}/{relative}")
            produced.values = found_values(relative, data)
            target = out_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        elif PurePosixPath(relative).parts[0] == "results":
            target = out_dir / PurePosixPath(relative).parent
            sandbox.copy_out(f"{root}/{relative}", target)
        files.append(produced)
    return sorted(files, key=lambda f: (not f.path.startswith("results/"), f.path))


def _keep_results(capsule: Capsule, out_dir: Path, files: list[ProducedFile]) -> list[ProducedFile]:
    """Copy what the run wrote under results/ into the capsule; other results/ files stay as they were."""
    for produced in files:
        if PurePosixPath(produced.path).parts[0] != "results":
            continue
        source = out_dir / produced.path
        target = capsule.path / produced.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        produced.kept = True
    return files
