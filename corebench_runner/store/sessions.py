"""What people's sessions measure: time to a correct answer per condition and the agent's speed-up.

A session is a run whose scaffold is `human` or `human+AGENT` (running/session.py). Per condition:
how many sessions, how many ended verified correct (every answer correct after review), how many hit
the time limit, and the median time to a correct answer. That median is Kaplan-Meier's (scipy), so
sessions that never reached a correct answer count: a session that hit the limit, or ended wrong or
still disputed, is censored at the study's horizon (the longest session: no correct answer within the
time given), never dropped. A median over the correct sessions alone would reward a condition whose
slow people gave up. When fewer than half of a condition's sessions reached a correct answer it has no
median, and no speed-up is claimed. The speed-up of an agent condition is the human condition's median
over the agent condition's, with a 95% percentile bootstrap interval (sessions resampled within each
condition; resamples in which a condition has no median are left out, and their count is reported).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from corebench_runner.store.database import TASK_DONE, VERIFIED_STATUS_SQL, Store

HUMAN = "human"
BOOTSTRAP_SEED = 20260  # fixed: the interval is the same every time the same sessions are read

_SESSIONS_SQL = f"""
    SELECT r.id AS run_id, r.scaffold, r.config_json, t.capsule_id, t.outcome, t.seconds,
      (t.outcome IN ('correct', 'disputed') AND EXISTS (SELECT 1 FROM answers WHERE answers.task_id = t.id)
       AND NOT EXISTS (SELECT 1 FROM answers WHERE answers.task_id = t.id AND {VERIFIED_STATUS_SQL} != 'correct'))
      AS verified_correct
    FROM runs r JOIN tasks t ON t.run_id = r.id
    WHERE (r.scaffold = '{HUMAN}' OR r.scaffold LIKE '{HUMAN}+%') AND t.status = '{TASK_DONE}'
    ORDER BY r.created, r.id
"""


@dataclass(frozen=True)
class Session:
    run_id: str
    person: str
    study: str | None
    capsule_id: str
    condition: str
    outcome: str
    seconds: float
    correct: bool  # verified: every answer correct after review
    hit_limit: bool


@dataclass(frozen=True)
class Condition:
    condition: str
    sessions: int
    correct: int
    median_seconds_to_correct: float | None
    hit_limit: int


@dataclass(frozen=True)
class Speedup:
    condition: str  # against the human condition
    ratio: float | None  # human median / this condition's median; above 1: faster with the agent
    low: float | None
    high: float | None
    resamples_used: int


@dataclass
class StudyMeasures:
    study: str | None
    sessions: list[Session] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    speedups: list[Speedup] = field(default_factory=list)


def read_sessions(store: Store, study: str | None = None) -> list[Session]:
    """Every session, or one study's (study="" : the sessions outside any study)."""
    sessions = []
    for row in store.query(_SESSIONS_SQL):
        about = json.loads(row["config_json"]).get("session") or {}
        if study is not None and (about.get("study") or "") != study:
            continue
        sessions.append(Session(run_id=row["run_id"], person=str(about.get("person", "")), study=about.get("study"),
                                capsule_id=row["capsule_id"], condition=row["scaffold"], outcome=row["outcome"] or "",
                                seconds=float(row["seconds"] or 0.0), correct=bool(row["verified_correct"]),
                                hit_limit=row["outcome"] == "timeout"))
    return sessions


def study_names(store: Store) -> list[str]:
    """The studies sessions were taken for, "" standing for sessions outside any study."""
    return sorted({s.study or "" for s in read_sessions(store)})


def _median_correct(seconds: np.ndarray, correct: np.ndarray, horizon: float) -> float | None:
    """Kaplan-Meier median time to a correct answer; sessions not correct are censored at `horizon`."""
    if not correct.any():
        return None
    censored = np.maximum(seconds[~correct], horizon)
    survival = stats.ecdf(stats.CensoredData(uncensored=seconds[correct], right=censored)).sf
    reached = survival.quantiles[survival.probabilities <= 0.5]
    return float(reached[0]) if reached.size else None


def study_measures(store: Store, study: str | None = None, resamples: int = 2000) -> StudyMeasures:
    sessions = read_sessions(store, study)
    measures = StudyMeasures(study=study, sessions=sessions)
    by_condition: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    horizon = max((s.seconds for s in sessions), default=0.0)  # no correct answer within the time any session had
    for name in sorted({s.condition for s in sessions}, key=lambda c: (c != HUMAN, c)):
        chosen = [s for s in sessions if s.condition == name]
        seconds = np.array([s.seconds for s in chosen], dtype=float)
        correct = np.array([s.correct for s in chosen], dtype=bool)
        by_condition[name] = (seconds, correct)
        measures.conditions.append(Condition(condition=name, sessions=len(chosen), correct=int(correct.sum()),
                                             median_seconds_to_correct=_median_correct(seconds, correct, horizon),
                                             hit_limit=sum(s.hit_limit for s in chosen)))
    if HUMAN not in by_condition:
        return measures
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    for name, (seconds, correct) in by_condition.items():
        if name == HUMAN:
            continue
        measures.speedups.append(_speedup(name, by_condition[HUMAN], (seconds, correct), resamples, rng, horizon))
    return measures


def _speedup(name: str, human: tuple[np.ndarray, np.ndarray], agent: tuple[np.ndarray, np.ndarray], resamples: int,
             rng: np.random.Generator, horizon: float) -> Speedup:
    base, with_agent = _median_correct(*human, horizon), _median_correct(*agent, horizon)
    if base is None or with_agent is None or with_agent <= 0:
        return Speedup(condition=name, ratio=None, low=None, high=None, resamples_used=0)
    ratios = []
    for _ in range(max(resamples, 0)):
        picks = []
        for seconds, correct in (human, agent):
            index = rng.integers(0, seconds.size, seconds.size)
            picks.append(_median_correct(seconds[index], correct[index], horizon))
        if picks[0] is not None and picks[1]:
            ratios.append(picks[0] / picks[1])
    low, high = (float(np.percentile(ratios, 2.5)), float(np.percentile(ratios, 97.5))) if ratios else (None, None)
    return Speedup(condition=name, ratio=base / with_agent, low=low, high=high, resamples_used=len(ratios))


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f} min"


def study_lines(measures: StudyMeasures) -> list[str]:
    """The study's results as `corebench study results` prints them."""
    if not measures.sessions:
        scope = f" of study {measures.study}" if measures.study else ""
        return [f"no sessions{scope} in this store yet: run them with `corebench session`"]
    lines = [f"{len(measures.sessions)} session(s) by {len({s.person for s in measures.sessions})} person(s)",
             f"{'condition':<24} {'sessions':>8} {'correct':>8} {'median time to correct':>24} {'hit the limit':>14}"]
    for c in measures.conditions:
        lines.append(f"{c.condition:<24} {c.sessions:>8} {c.correct:>8} {_minutes(c.median_seconds_to_correct):>24} "
                     f"{c.hit_limit:>14}")
    for s in measures.speedups:
        if s.ratio is None:
            lines.append(f"speed-up of {s.condition}: none claimed: it and human each need at least half of their "
                         "sessions to reach a correct answer (a median time to correct)")
        elif s.low is None:
            lines.append(f"speed-up of {s.condition}: {s.ratio:.2f}x (no interval: too few sessions)")
        else:
            lines.append(f"speed-up of {s.condition}: {s.ratio:.2f}x (95% bootstrap interval {s.low:.2f}-{s.high:.2f},"
                         f" {s.resamples_used} resamples)")
    return lines
