"""Libraries a run's driver will need, loaded in a thread while its first tasks wait on Docker.

Grading a numeric answer whose question has more than 31 reference runs (or one) needs
scipy.special (0.3-0.5 s to load; fewer runs use official_rule.T975). Loaded at the first grade, it
would sit between a task's end and its score; loaded here, it overlaps the containers' start,
while the driver has nothing to do. Only what the run's capsules will use is loaded.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable
from typing import Any


def preload_for_grading(suite: Any, capsule_ids: Iterable[str]) -> None:
    """Start loading, in the background, what grading these capsules will import."""
    threading.Thread(target=_load_for, args=(suite, list(capsule_ids)), name="preload", daemon=True).start()


def grading_libraries(capsules: Iterable[Any]) -> list[str]:
    """scipy.special when some question's first reference run is a number (the official rule's interval)
    and its number of runs is not in the rule's own table of t quantiles."""
    from corebench_runner.grading.official_rule import coerce_reported, needs_scipy

    for capsule in capsules:
        for question in capsule.questions:
            if question.runs and isinstance(coerce_reported(question.runs[0]), (int, float)) \
                    and needs_scipy(len(question.runs)):
                return ["scipy.special"]
    return []


def _load_for(suite: Any, capsule_ids: list[str]) -> None:
    try:
        for name in grading_libraries(suite.load(capsule_id) for capsule_id in dict.fromkeys(capsule_ids)):
            importlib.import_module(name)
    except Exception:  # an optimisation only: the first real use raises it where it can be reported
        pass
