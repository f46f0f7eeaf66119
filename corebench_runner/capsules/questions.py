"""A capsule's questions: the Question graders receive, and the parsing and checks of capsule.toml's
[[questions]] tables (each reference run's value, tolerance, oracle extraction rule)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corebench_runner.capsules.problems import FieldReader, Problem, inside


def is_vision_question(text: str) -> bool:
    """Upstream's rule, exactly: "fig" in the question text (case-sensitive, as upstream checks it).

    A question that says "Figure 2" without a lower-case "fig" can set `vision = true` explicitly.
    """
    return "fig" in text


@dataclass(frozen=True)
class Tolerance:
    """Extra slack for our own capsules, used by the tolerant grader only."""

    abs: float | None = None
    rel: float | None = None
    sig_figs: int | None = None


@dataclass(frozen=True)
class Question:
    text: str
    runs: tuple[Any, ...]  # one reference value per reference run
    vision: bool = False
    tolerance: Tolerance | None = None
    extract: dict[str, Any] | None = None  # oracle extraction rule (no reference value)
    capsule_id: str = ""  # the capsule asking it: graders with per-capsule tables (v1.1 aliases) need it


def _type_name(value: Any) -> str:
    """Reference value types as upstream grades them: numbers, lists, strings."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def parse_questions(data: dict, r: FieldReader, folder: Path, capsule_id: str) -> list[Question]:
    """The questions of a parsed capsule.toml; each bad one is a Problem recorded through `r`."""
    raw = r.get(data, "questions", list, "questions", required=True, default=[])
    if "questions" in data and not raw:
        r.error("questions", "is empty; add at least one [[questions]] table")
    questions: list[Question] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        name = f"questions[{i}]"
        if not isinstance(item, dict):
            r.error(name, "must be a table with `text` and `runs`")
            continue
        text = r.get(item, "text", str, f"{name}.text", required=True, default="")
        runs = r.get(item, "runs", list, f"{name}.runs", required=True, default=[])
        if text in seen:
            r.error(f"{name}.text", f"duplicate question text {text!r}; every question must be asked once")
        seen.add(text)
        if "runs" in item and not runs:
            r.error(f"{name}.runs", "is empty; give the reference value of each reference run "
                    f"(`corebench capsule check {capsule_id} --runs 3 --record` measures them)")
        types = {_type_name(v) for v in runs}
        if len(types) > 1:
            r.error(f"{name}.runs", f"reference runs disagree in type ({', '.join(sorted(types))}); "
                    "every run must give the same kind of value")
        bad_numbers = [v for v in runs if isinstance(v, float) and not math.isfinite(v)]
        if bad_numbers:
            r.error(f"{name}.runs", f"holds {', '.join(map(repr, bad_numbers))}; a reference value must be a finite "
                    "number (write the value the run printed, or leave the question out)")
        elif types == {"number"} and len(runs) == 1:
            r.problems.append(Problem(r.file, f"{name}.runs", "a number with one reference run: the official rule's "
                                      "interval needs two or more runs, so no answer to it can be graded correct; "
                                      "add the values of more runs", "warning"))
        elif runs and 0 < len(runs) < 3:
            r.problems.append(Problem(r.file, f"{name}.runs", f"only {len(runs)} reference run(s); 3 or more make "
                                      "the prediction interval meaningful", "warning"))
        vision = r.get(item, "vision", bool, f"{name}.vision", default=None)
        tol_table = r.get(item, "tolerance", dict, f"{name}.tolerance", default=None)
        tolerance = None
        if tol_table is not None:
            tolerance = Tolerance(
                abs=r.get(tol_table, "abs", (int, float), f"{name}.tolerance.abs", default=None),
                rel=r.get(tol_table, "rel", (int, float), f"{name}.tolerance.rel", default=None),
                sig_figs=r.get(tol_table, "sig_figs", int, f"{name}.tolerance.sig_figs", default=None),
            )
        extract = r.get(item, "extract", dict, f"{name}.extract", default=None)
        if extract is not None:
            target = extract.get("file")
            if not isinstance(target, str):
                r.error(f"{name}.extract.file", "missing; name the output file the oracle reads this answer from")
            elif not inside(folder, target):
                r.error(f"{name}.extract.file", f"{target!r} points outside the capsule folder")
        questions.append(Question(
            text=text, runs=tuple(runs),
            vision=is_vision_question(text) if vision is None else vision,
            tolerance=tolerance, extract=extract, capsule_id=capsule_id,
        ))
    return questions
