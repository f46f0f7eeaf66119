"""`corebench triage RUN --scaffold claude-code|codex`: an agent CLI reads the failed task's files, as the
CORE-Bench v1.1 authors had one do, and writes its proposals to a JSON file the runner reads.

The agent runs exactly as a task's agent does (agents/cli_agents/session.py: its layer on the toolbox image,
a labelled Docker container, the metering relay on the host holding the key, the per-task cap).
Its workspace holds only what the run kept of the task: the transcript, the agent's report and the
files it produced. Never capsule.toml, never the alias tables: the reference runs it needs are in
the prompt, as on the reviewer's screen.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from corebench_runner.agents.cli_agents.session import run_agent
from corebench_runner.agents.relay.start import upstream_of
from corebench_runner.capsules.plugins import load_plugin
from corebench_runner.images.base import toolbox_image
from corebench_runner.models.base import ModelClient
from corebench_runner.records import Limits, TaskSpec, Usage
from corebench_runner.sandbox.base import SandboxSpec
from corebench_runner.sandbox.docker.sandbox import DockerSandbox
from corebench_runner.sandbox.labels import run_labels
from corebench_runner.triage.material import TaskMaterial
from corebench_runner.triage.model_triage import Ask, TaskTriage
from corebench_runner.triage.prompt import SYSTEM_PROMPT, answers_text, read_proposals

SCAFFOLDS = ("claude-code", "codex")
WORKDIR = "/workspace"
PROPOSALS_FILE = f"{WORKDIR}/triage.json"
MAX_STEPS = 40
WALL_SECONDS = 900.0
SHAPE = ('{"proposals": [{"answer": N, "verdict": "right_in_spirit" or "wrong", "category": one of the five, '
         '"reasoning": "..."}]}')
REMINDER = ("You ended without writing {report}. Write your proposals there now, as one JSON object "
            + SHAPE + ", one entry per numbered answer.")


def scaffold_prompt(material: TaskMaterial, has_report: bool) -> str:
    files = [f"- {WORKDIR}/transcript.json: the agent's whole transcript (a JSON list of events: its commands, "
             "their output, what it said)",
             f"- {WORKDIR}/produced/: the files the task left in its results folder"]
    if has_report:
        files.append(f"- {WORKDIR}/agent_report.json: the report the agent handed in")
    return (f"{SYSTEM_PROMPT}\n\nCapsule {material.capsule_id}, repeat {material.repeat}; the task ended "
            f"{material.outcome}.\n\n# Failed answers\n\n{answers_text(material)}\n\n"
            "# The task's files, for you to read (grep, jq, python3)\n\n" + "\n".join(files) + "\n\n"
            f"Write your proposals to {PROPOSALS_FILE} as one JSON object:\n{SHAPE}\n"
            "with one entry per numbered answer. Change no other file.")


def task_workspace(material: TaskMaterial, into: Path) -> bool:
    """Fill `into` with what the run kept of the task; returns whether the agent's report is among it."""
    into.mkdir(parents=True, exist_ok=True)
    if material.transcript is not None and material.transcript.is_file():
        shutil.copyfile(material.transcript, into / "transcript.json")
        report = material.transcript.parent / "report.json"
        if report.is_file() and not report.is_symlink():
            shutil.copyfile(report, into / "agent_report.json")
    produced = into / "produced"
    if material.produced is not None:
        # Links are left out: a kept results folder must not hand the agent anything outside it.
        shutil.copytree(material.produced, produced, symlinks=True,
                        ignore=lambda folder, names: [n for n in names if (Path(folder) / n).is_symlink()])
    else:
        produced.mkdir()
    return (into / "agent_report.json").exists()


def require_model_api(scaffold_name: str, client: ModelClient) -> None:
    """Refuse, before any image is built, a model that does not speak the agent's API (one line naming --model)."""
    upstream_of(client, load_plugin("scaffolds", scaffold_name).recipe.api)


def scaffold_asker(scaffold_name: str, client_for: Callable[[TaskMaterial], ModelClient],
                   max_steps: int = MAX_STEPS, wall_seconds: float = WALL_SECONDS) -> Ask:
    """Run the agent CLI once per task (its image built once, first); read PROPOSALS_FILE back."""
    scaffold = load_plugin("scaffolds", scaffold_name)
    recipe = scaffold.recipe
    image = scaffold.image_for(toolbox_image())

    def ask(material: TaskMaterial, left: float | None) -> TaskTriage:
        limits = Limits(max_steps=max_steps, wall_seconds=wall_seconds, max_cost_usd=left)
        with tempfile.TemporaryDirectory(prefix="corebench-triage-") as scratch:
            has_report = task_workspace(material, Path(scratch) / "workspace")
            spec = TaskSpec(capsule_id=material.capsule_id, level="triage",
                            prompt=scaffold_prompt(material, has_report), questions=(), vision_questions=(),
                            workspace_dir=WORKDIR, report_path=PROPOSALS_FILE)
            sandbox_spec = SandboxSpec(image=image, labels=run_labels(f"triage-{material.run_id}", material.task_id),
                                       watchdog_seconds=wall_seconds + 60)
            with DockerSandbox(sandbox_spec) as sandbox:
                sandbox.copy_in(Path(scratch) / "workspace", WORKDIR)
                submission = run_agent(recipe, spec, sandbox, client_for(material), limits, reminder=REMINDER)
                try:
                    written = sandbox.read_file(PROPOSALS_FILE)
                except (FileNotFoundError, IsADirectoryError):
                    written = None
        problems = [f"{scaffold_name} ended {submission.outcome.value}: {submission.error}"] if submission.outcome else []
        if written is None:
            return TaskTriage(material, [], problems + [f"{scaffold_name} wrote no {PROPOSALS_FILE}"],
                              submission.usage or Usage())
        try:
            data = json.loads(written.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return TaskTriage(material, [], problems + [f"{PROPOSALS_FILE} is not JSON ({exc})"], submission.usage)
        read = read_proposals(data, material)
        return TaskTriage(material, read.proposals, problems + read.problems, submission.usage)

    return ask

