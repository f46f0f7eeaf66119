"""Which suite (benchmark label and version) a run's capsules belong to, as recorded when it was planned.

Runs of different suites are never compared or averaged together, and a set-aside question or task
applies only within its suite.
"""

from __future__ import annotations

from typing import Any

BENCHMARKS_KEY = "benchmarks"  # run config: {capsule id: benchmark label}, written by run.plan_run
UNRECORDED_SUITE = "unrecorded"  # runs planned before suites were recorded


def capsule_suites(config: dict[str, Any]) -> dict[str, str]:
    """{capsule id: benchmark label} as recorded when the run was planned ({} for older runs)."""
    recorded = config.get(BENCHMARKS_KEY)
    return {str(k): str(v) for k, v in recorded.items()} if isinstance(recorded, dict) else {}


def suite_label(config: dict[str, Any]) -> str:
    """The run's suite: its capsules' benchmark label, or the labels joined by " + " when they differ."""
    labels = sorted(set(capsule_suites(config).values()))
    return " + ".join(labels) if labels else UNRECORDED_SUITE


def capsule_suite(config: dict[str, Any], capsule_id: str) -> str:
    """The suite one capsule of a run belongs to: its recorded label, else the run's."""
    return capsule_suites(config).get(capsule_id) or suite_label(config)
