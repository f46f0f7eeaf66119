"""Run a capsule's `reproduce` command once, before any question exists, and keep what it wrote.

This is the first step of authoring from code: build the environment image, run the code in a
container from a medium-level workspace (results/ emptied), and report every file the run
created or changed, with the values in it and the `extract` rule that reads each one. Files the
run wrote under results/ are copied into the capsule's results/ (what the easy level shows);
other files it wrote are listed but not kept.
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
from corebench_runner.errors import UserError
from corebench_runner.sandbox.base import SandboxSpec

LABEL = "corebench.run"  # as runs and checks: `corebench clean` finds a leftover container
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


def reproduce(capsule: Capsule, progress: Callable[[str], None] | None = None, keep: bool = True) -> Reproduction:
    """Build the environment, run `reproduce` once, and return what it produced (kept into results/)."""
    from corebench_runner import images
    from corebench_runner.sandbox.factory import open_sandbox

    command = _require_command(capsule)
    image = images.environment_image(capsule, progress=progress)
    spec = SandboxSpec(image=image, cpus=capsule.resources.cpus, memory=capsule.resources.memory,
                       pids_limit=capsule.resources.pids, labels={LABEL: f"reproduce-{capsule.id}-{secrets.token_hex(3)}"})
    if progress:
        progress(f"running `{command}` in {image} (time limit {capsule.resources.time_limit} s)")
    with tempfile.TemporaryDirectory(prefix="corebench-reproduce-") as tmp:
        workspace = levels.prepare(capsule, "medium", Path(tmp) / "workspace")
        root = workspace.task.workspace_dir
        with open_sandbox("docker", spec) as sandbox:
            sandbox.copy_in(workspace.path, root)
            mark = START_MARK  # what is newer than this file, the run created or changed
            sandbox.exec(["touch", mark])
            result = sandbox.exec(command, timeout=float(capsule.resources.time_limit), workdir=root)
            listing = sandbox.exec(["find", root, "-type", "f", "-newer", mark, "-printf", "%s %P\\n"])
            files = _read_produced(sandbox, root, listing.stdout, Path(tmp) / "out")
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
