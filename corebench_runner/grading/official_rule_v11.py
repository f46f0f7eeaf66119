"""CORE-Bench v1.1's grading rule, reproduced exactly: the original rule with four changes.

Upstream (hal-harness, branch feat/corebenchv2-prefect) keeps the original rule
(official_rule.py: typing by the first run, '%' stripping, float() coercion, 'fig' for vision,
the silent stop at the first value it cannot compare) and changes this:

- Numbers: the prediction interval is widened on each side by 0.5 * 10**-d, d being the most
  decimals among the reference runs (Decimal(str(value)).normalize(), never below 0; anything
  Decimal cannot read counts 0), and a value numpy.isclose to either widened bound is inside.
- Strings whose reference is "True"/"False" (any case): a reported boolean is compared as its
  str(), a reported number equal to 1 or 0 as "True"/"False".
- Strings with aliases for (capsule, question): correct iff the lower-cased answer is one of the
  lower-cased aliases (the reference itself counts only when it is listed).
- Lists with list aliases: correct iff the set of lower-cased items equals one lower-cased alias
  set; building that set is a new place where upstream raises (a number, None, a list of numbers)
  and so stops scoring the rest of the report.

Everything here is pure; the alias tables come from answer_aliases.py.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from corebench_runner.grading import official_rule
from corebench_runner.grading.official_rule import (
    LIST,
    NUMERIC,
    STRING,
    OfficialCheck,
    ReferenceUnusable,
    StopPoint,
    coerce_reported,
    reference_interval,
    reference_kind,
)

_BOOLEAN_TEXTS = ("true", "false")


@dataclass(frozen=True)
class QuestionAliases:
    """Accepted answers beyond the reference for one (capsule, question); None where upstream has none."""

    strings: tuple[str, ...] | None = None
    lists: tuple[tuple[str, ...], ...] | None = None


NO_ALIASES = QuestionAliases()


def decimal_places(value: Any) -> int:
    """Decimals of a reference value as upstream counts them: 96.125 -> 3, 100 -> 0, 1e-10 -> 10."""
    try:
        exponent = Decimal(str(value)).normalize().as_tuple().exponent
        return max(0, -exponent)
    except Exception:  # noqa: BLE001 - upstream counts anything Decimal cannot read (True, nan) as 0
        return 0


def widening(runs: Sequence[Any]) -> float:
    """How far upstream widens the interval on each side: half a unit of the finest reference decimal."""
    places = [decimal_places(run) for run in runs]
    d = max(places) if places else 0
    return 0.5 * (10 ** (-d))


@dataclass(frozen=True)
class WidenedInterval:
    lower: Any
    upper: Any
    widening: float
    n: int


def widened_interval(runs: Sequence[Any]) -> WidenedInterval:
    """The v1.1 interval; raises ReferenceUnusable where upstream scores nothing."""
    base = reference_interval(runs)
    tolerance = widening(runs)
    return WidenedInterval(base.lower - tolerance, base.upper + tolerance, tolerance, base.n)


def _inside(value: Any, lower: Any, upper: Any) -> bool:
    """Upstream's test, evaluated the same way so that odd values (lists, bools) behave the same."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bool(lower <= value <= upper or np.isclose(value, lower) or np.isclose(value, upper))


def check_numeric(runs: Sequence[Any], reported: Any) -> OfficialCheck:
    try:
        interval = widened_interval(runs)
    except ReferenceUnusable as exc:
        return OfficialCheck(False, f"the reference runs cannot be summarised: {exc}; upstream scores "
                                    "no question of this task", NUMERIC, reference_usable=False)
    value = coerce_reported(reported)
    shown = official_rule._as_read(reported, value)
    try:
        inside = _inside(value, interval.lower, interval.upper)
    except Exception:  # noqa: BLE001 - exactly where upstream's loop raises and stops
        return OfficialCheck(False, f"{shown} cannot be compared with a number (upstream's rule stops "
                                    "scoring the rest of a report at such a value)", NUMERIC, comparable=False)
    bounds = (f"[{official_rule._show(interval.lower)}, {official_rule._show(interval.upper)}]")
    where = (f"the 95% prediction interval of {interval.n} run(s) widened by {interval.widening!r} "
             f"on each side, {bounds}, or numpy.isclose to a bound")
    if interval.n < 2:
        return OfficialCheck(False, f"{shown} cannot be judged: the reference has a single run, so "
                                    "upstream's interval is undefined and no answer counts as correct", NUMERIC)
    if inside:
        return OfficialCheck(True, f"{shown} is inside {where}", NUMERIC)
    return OfficialCheck(False, f"{shown} is outside {where}", NUMERIC)


def check_list(runs: Sequence[Any], reported: Any, list_aliases: Iterable[Iterable[str]] | None = None) -> OfficialCheck:
    value = coerce_reported(reported)
    shown = official_rule._as_read(reported, value)
    if list_aliases is None:
        if value == runs[0]:
            return OfficialCheck(True, f"{shown} equals the first reference run's list", LIST)
        return OfficialCheck(False, f"{shown} differs from the reference list {official_rule._show(runs[0])} "
                                    "(lists must match exactly, in order)", LIST)
    alias_sets = [list(subset) for subset in list_aliases]
    try:
        items = {item.lower() for item in value}
    except Exception:  # noqa: BLE001 - upstream's set comprehension raises here and stops
        return OfficialCheck(False, f"{shown} is not a list of texts, so it cannot be compared with the accepted "
                                    "sets (upstream's rule stops scoring the rest of a report at such a value)",
                             LIST, comparable=False)
    accepted = " or ".join(official_rule._show(sorted(subset)) for subset in alias_sets)
    if any({v.lower() for v in subset} == items for subset in alias_sets):
        return OfficialCheck(True, f"{shown} has the items of an accepted set ({accepted}; any order, case "
                                   "ignored)", LIST)
    return OfficialCheck(False, f"{shown} matches none of the accepted sets {accepted} (any order, case "
                                "ignored)", LIST)


def as_compared_text(reference: Any, reported: Any) -> str:
    """The text upstream compares for a string question (after '%'/float() and boolean clean-up)."""
    value = coerce_reported(reported)
    if str(reference).lower() in _BOOLEAN_TEXTS:
        if isinstance(value, bool):
            value = str(value)
        elif isinstance(value, (int, float)):
            if value == 1:
                value = "True"
            elif value == 0:
                value = "False"
    return str(value)


def check_string(runs: Sequence[Any], reported: Any, aliases: Iterable[str] | None = None) -> OfficialCheck:
    expected = str(runs[0])
    text = as_compared_text(runs[0], reported)
    shown = official_rule._show(reported)
    if not (isinstance(reported, str) and reported == text):
        shown = f"{shown} (compared as the text {official_rule._show(text)})"
    if aliases is not None:
        accepted = [str(a) for a in aliases]
        if text.lower() in {a.lower() for a in accepted}:
            return OfficialCheck(True, f"{shown} is an accepted answer (case ignored)", STRING)
        return OfficialCheck(False, f"{shown} is none of the accepted answers "
                                    f"{official_rule._show(accepted)} (case ignored)", STRING)
    if text.lower() == expected.lower():
        return OfficialCheck(True, f"{shown} matches the reference {official_rule._show(expected)} "
                                   "(case is ignored)", STRING)
    return OfficialCheck(False, f"{shown} differs from the reference {official_rule._show(expected)}", STRING)


def check(runs: Sequence[Any], reported: Any, aliases: QuestionAliases = NO_ALIASES) -> OfficialCheck:
    """The v1.1 verdict on one reported value for a question with these reference runs."""
    kind = reference_kind(runs[0]) if runs else None
    if kind == NUMERIC:
        return check_numeric(runs, reported)
    if kind == LIST:
        return check_list(runs, reported, aliases.lists)
    if kind == STRING:
        return check_string(runs, reported, aliases.strings)
    first = official_rule._show(runs[0]) if runs else "missing"
    return OfficialCheck(False, f"the reference value {first} is not a number, list or string; "
                                "upstream does not grade this question", None)


def upstream_stop_point(questions: Sequence[tuple[str, Sequence[Any], QuestionAliases]],
                        report: Mapping[str, Any]) -> StopPoint | None:
    """Where upstream's v1.1 loop gives up for (question text, runs, aliases); None when it scores all.

    As in the original rule, one numeric question whose runs numpy cannot summarise scores
    nothing; then the report's own keys are walked in order until a comparison raises.
    """
    by_text = {text: (runs, aliases) for text, runs, aliases in questions}
    for text, runs, _ in questions:
        if runs and reference_kind(runs[0]) == NUMERIC:
            try:
                reference_interval(runs)
            except ReferenceUnusable as exc:
                return StopPoint(frozenset(), f"not scored: upstream cannot summarise the reference runs of "
                                              f"{official_rule._show(text, 60)} ({exc}) and so scores no question "
                                              "of this task")
    scored: set[str] = set()
    for key in report:
        if key not in by_text:
            continue
        runs, aliases = by_text[key]
        scored.add(key)
        if not check(runs, report[key], aliases).comparable:
            return StopPoint(frozenset(scored), f"not scored: upstream stopped at the answer to "
                                                f"{official_rule._show(key, 60)}, which it could not compare "
                                                f"({official_rule._show(report[key])})")
    return None
