"""CORE-Bench's official grading rule, reproduced exactly, odd corners included.

Upstream (hal-harness `CoreBench.__eval_result_json`) types each question by the value of
the FIRST reference run: int/float (and so bool, an int subclass) is numeric, list is list,
str is string; anything else is not graded at all. A reported value first loses every '%'
(when it is a string) and then goes through float() when it can; whatever fails is kept as
it is. Numeric answers must fall inside the 95% prediction interval of all runs,
mean +/- t(0.975, n-1) * sd(ddof=1) * sqrt(1 + 1/n), computed with numpy and scipy exactly
as upstream does, so that floating-point results match bit for bit (the mean of three equal
floats is not always that float). Lists must equal the first run; strings must equal it
ignoring case. Where upstream's own comparison raises (a string such as 'N/A', None, a list
of several numbers for a numeric question) it silently stops scoring the rest of the report;
`upstream_stop_point` finds that place so callers can reproduce published numbers on request.

Everything here is pure: no I/O, no state beyond small caches of intervals.
"""

from __future__ import annotations

import functools
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

NUMERIC, LIST, STRING = "numeric", "list", "string"


class ReferenceUnusable(Exception):
    """Upstream could not summarise a numeric question's reference runs (and scores nothing)."""


class Uncomparable(Exception):
    """Upstream's comparison raised for this reported value (and it stops scoring there)."""


@dataclass(frozen=True)
class Interval:
    """The prediction interval as upstream computes it; values are numpy scalars, not rounded."""

    lower: Any
    upper: Any
    mean: Any
    std: Any
    n: int


@dataclass(frozen=True)
class OfficialCheck:
    """The official decision on one question, with what a reviewer needs to know."""

    correct: bool
    reason: str
    kind: str | None
    comparable: bool = True  # False: upstream raised here and stops scoring the report
    reference_usable: bool = True  # False: upstream scores no question of the task


def reference_kind(first_run_value: Any) -> str | None:
    """How upstream grades a question, decided by the first run's value alone."""
    if isinstance(first_run_value, (int, float)):  # bool is an int: True is graded as 1
        return NUMERIC
    if isinstance(first_run_value, list):
        return LIST
    if isinstance(first_run_value, str):
        return STRING
    return None


def is_upstream_vision(text: str) -> bool:
    """Upstream counts a question as a vision question when 'fig' (lower case) is in its text."""
    return "fig" in text


def coerce_reported(value: Any) -> Any:
    """Upstream's clean-up of a reported value: drop '%' from strings, then try float()."""
    try:
        if "%" in value:
            value = value.replace("%", "")
        value = float(value)
    except Exception:  # noqa: BLE001 - upstream swallows every failure here; the value stays as is
        pass
    return value


# scipy.special.stdtrit(df, 0.975) for df 1..30, as scipy computes them (a test compares them bit for bit):
# questions with 2 to 31 reference runs are graded without loading scipy, 0.3-0.5 s of CPU that would
# otherwise be spent while a run's first containers start.
T975 = (12.706204736174694, 4.302652729749462, 3.1824463052837078, 2.7764451051977934, 2.5705818356363146,
        2.4469118511449786, 2.364624251592784, 2.306004135204166, 2.262157162798205, 2.228138851986274,
        2.200985160091639, 2.1788128296672284, 2.1603686564627913, 2.144786687917804, 2.131449545559776,
        2.1199052992212546, 2.1098155778333156, 2.1009220402410382, 2.0930240544083087, 2.085963447265864,
        2.0796138447276795, 2.0738730679040254, 2.0686576104190486, 2.0638985616280245, 2.0595385527532972,
        2.0555294386428735, 2.0518305164802846, 2.0484071417952454, 2.045229642132703, 2.0422724563012378)


def needs_scipy(runs: int) -> bool:
    """Whether the interval of this many reference runs needs scipy's t quantile (not in T975)."""
    return not 1 <= runs - 1 <= len(T975)


@functools.lru_cache(maxsize=256)
def _t975(degrees_of_freedom: int) -> float:
    if 1 <= degrees_of_freedom <= len(T975):
        return T975[degrees_of_freedom - 1]
    # scipy.stats.t.ppf(q, df) is stdtrit(df, q) bit for bit; scipy.stats takes a second longer to load.
    from scipy.special import stdtrit

    return stdtrit(degrees_of_freedom, 0.975)


def _compute_interval(runs: Sequence[Any]) -> Interval:
    values = list(runs)
    n = len(values)
    if n == 0:
        raise ReferenceUnusable("there are no reference runs")
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # n == 1: sd is nan, as upstream
            mean = np.mean(values)
            std = np.std(values, ddof=1)
    except Exception as exc:  # noqa: BLE001 - any numpy failure means upstream scores nothing
        raise ReferenceUnusable(f"numpy cannot average the reference runs {_show(values)} ({exc})") from exc
    t_value = _t975(n - 1)
    # Same expression, same order of operations as upstream, so the bounds match bit for bit.
    lower = mean - t_value * std * math.sqrt(1 + 1 / n)
    upper = mean + t_value * std * math.sqrt(1 + 1 / n)
    return Interval(lower=lower, upper=upper, mean=mean, std=std, n=n)


@functools.lru_cache(maxsize=65536)
def _cached_interval(runs: tuple) -> Interval:
    return _compute_interval(runs)


def reference_interval(runs: Sequence[Any]) -> Interval:
    """Upstream's interval for these runs; raises ReferenceUnusable when numpy cannot compute it."""
    try:
        return _cached_interval(tuple(runs))
    except TypeError:  # unhashable runs (lists inside): compute without the cache
        return _compute_interval(runs)


def prediction_interval(runs: Sequence[Any]) -> tuple[float, float] | None:
    """(lower, upper) of the official 95% prediction interval, or None when there is none.

    None means no reported number can be correct: the runs are not all numbers, or there is
    a single run (upstream's t quantile with 0 degrees of freedom is nan).
    """
    if not runs or reference_kind(runs[0]) != NUMERIC:
        return None
    try:
        interval = reference_interval(runs)
        lower, upper = float(interval.lower), float(interval.upper)
    except (ReferenceUnusable, TypeError, ValueError):
        return None
    if math.isnan(lower) or math.isnan(upper):
        return None
    return lower, upper


def readable_float(value: float) -> str:
    text = f"{value:.12g}"
    return text if any(c in text for c in ".en") else text + ".0"  # still reads as a float: 3.0, not 3


def _show(value: Any, limit: int = 80) -> str:
    """A reported or reference value as a reviewer should read it: JSON where possible.

    Floats show 12 significant digits, so arithmetic noise (0.30000000000000004) does not read as data.
    """
    if isinstance(value, (float, np.floating)):
        text = readable_float(float(value))
    else:
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe_interval(interval: Interval, runs: Sequence[Any]) -> str:
    bounds = f"[{_show(interval.lower)}, {_show(interval.upper)}]"
    if len(set(map(repr, runs))) == 1:
        return f"the 95% prediction interval {bounds} of {interval.n} runs that all give {_show(runs[0])}"
    return f"the 95% prediction interval {bounds} of {interval.n} runs (mean {_show(interval.mean)})"


def _as_read(original: Any, coerced: Any) -> str:
    if coerced is original or (type(coerced) is type(original) and coerced == original):
        return _show(original)
    return f"{_show(original)} (read as {_show(coerced)})"


def check_numeric(runs: Sequence[Any], reported: Any) -> OfficialCheck:
    try:
        interval = reference_interval(runs)
    except ReferenceUnusable as exc:
        return OfficialCheck(False, f"the reference runs cannot be summarised: {exc}; upstream scores "
                                    "no question of this task", NUMERIC, reference_usable=False)
    value = coerce_reported(reported)
    shown = _as_read(reported, value)
    try:
        inside = bool(interval.lower <= value <= interval.upper)
    except Exception:  # noqa: BLE001 - exactly where upstream's loop raises and stops
        return OfficialCheck(False, f"{shown} cannot be compared with a number (upstream's rule stops "
                                    "scoring the rest of a report at such a value)", NUMERIC, comparable=False)
    if interval.n < 2:
        return OfficialCheck(False, f"{shown} cannot be judged: the reference has a single run, so "
                                    "upstream's interval is undefined and no answer counts as correct", NUMERIC)
    if inside:
        return OfficialCheck(True, f"{shown} is inside {_describe_interval(interval, runs)}", NUMERIC)
    quirk = ""
    if all(type(r) is type(runs[0]) and r == runs[0] for r in runs) and value == runs[0]:
        quirk = " (numpy's mean of these equal floats differs from them in the last digit)"
    return OfficialCheck(False, f"{shown} is outside {_describe_interval(interval, runs)}{quirk}", NUMERIC)


def check_list(runs: Sequence[Any], reported: Any) -> OfficialCheck:
    value = coerce_reported(reported)
    expected = runs[0]
    if value == expected:
        return OfficialCheck(True, f"{_show(reported)} equals the first reference run's list", LIST)
    return OfficialCheck(False, f"{_as_read(reported, value)} differs from the reference list "
                                f"{_show(expected)} (lists must match exactly, in order)", LIST)


def check_string(runs: Sequence[Any], reported: Any) -> OfficialCheck:
    value = coerce_reported(reported)
    expected = runs[0]
    if str(value).lower() == str(expected).lower():
        return OfficialCheck(True, f"{_as_read(reported, value)} matches the reference "
                                   f"{_show(expected)} (case is ignored)", STRING)
    note = f" (compared as the text {_show(str(value))})" if not isinstance(value, str) else ""
    return OfficialCheck(False, f"{_as_read(reported, value)} differs from the reference "
                                f"{_show(expected)}{note}", STRING)


def check(runs: Sequence[Any], reported: Any) -> OfficialCheck:
    """The official verdict on one reported value for a question with these reference runs."""
    kind = reference_kind(runs[0]) if runs else None
    if kind == NUMERIC:
        return check_numeric(runs, reported)
    if kind == LIST:
        return check_list(runs, reported)
    if kind == STRING:
        return check_string(runs, reported)
    first = _show(runs[0]) if runs else "missing"
    return OfficialCheck(False, f"the reference value {first} is not a number, list or string; "
                                "upstream does not grade this question", None)


@dataclass(frozen=True)
class StopPoint:
    """Where upstream's report loop gives up: questions not in `scored` count as incorrect."""

    scored: frozenset[str]
    reason: str


def upstream_stop_point(questions: Sequence[tuple[str, Sequence[Any]]], report: Mapping[str, Any]) -> StopPoint | None:
    """Reproduce upstream's silent stops for (question text, runs) pairs; None when it scores all.

    Upstream computes every numeric interval first (one failure scores nothing), then walks
    the REPORTED keys in order and abandons the walk at the first comparison that raises.
    """
    runs_by_text = {text: runs for text, runs in questions}
    for text, runs in questions:
        if runs and reference_kind(runs[0]) == NUMERIC:
            try:
                reference_interval(runs)
            except ReferenceUnusable as exc:
                return StopPoint(frozenset(), f"not scored: upstream cannot summarise the reference runs of "
                                              f"{_show(text, 60)} ({exc}) and so scores no question of this task")
    scored: set[str] = set()
    for key in report:
        runs = runs_by_text.get(key)
        if runs is None:
            continue
        scored.add(key)
        if reference_kind(runs[0]) == NUMERIC and not check_numeric(runs, report[key]).comparable:
            return StopPoint(frozenset(scored), f"not scored: upstream stopped at the answer to {_show(key, 60)}, "
                                                f"which it could not compare ({_show(report[key])})")
    return None
