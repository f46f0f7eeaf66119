"""What the run engine hands to diagnose(), rebuilt from what it already holds on the driver."""

from __future__ import annotations

import io
import tarfile
from typing import Any

from corebench_runner.capsules import levels
from corebench_runner.records import TaskSpec


def task_spec_for(capsule: Any, level: str) -> TaskSpec:
    """The TaskSpec the scaffold saw, without preparing a workspace again."""
    return TaskSpec(capsule_id=capsule.id, level=level, prompt="",
                    questions=tuple(q.text for q in capsule.questions),
                    vision_questions=tuple(q.text for q in capsule.questions if q.vision),
                    workspace_dir=levels.WORKSPACE_IN_SANDBOX,
                    report_path=f"{levels.WORKSPACE_IN_SANDBOX}/{levels.REPORT_NAME}", language=capsule.language)


def produced_paths(results_tar: bytes | None) -> list[str] | None:
    """Files in results/ after the task (relative to results/), from the engine's archive; None if unknown."""
    if not results_tar:
        return None
    try:
        with tarfile.open(fileobj=io.BytesIO(results_tar), mode="r:gz") as tar:
            names = [m.name for m in tar.getmembers() if m.isfile()]
    except (tarfile.TarError, OSError, EOFError):
        return None
    return [name.split("/", 1)[1] if name.startswith("results/") else name for name in names]
