"""Reliability over repeats: how often, and how consistently, a run solves each capsule.

With `--repeats K` every capsule is attempted K times. From the verified verdict of each scored
repeat (correct or not; skipped and unfinished repeats are left out):

  share (per capsule)  correct repeats / scored repeats
  pass@k               share of capsules solved at least once in their repeats
  pass^k               share of capsules solved in every one of their repeats
  consistency          chance that two repeats of a capsule end alike (both solved or both not),
                       averaged over capsules with two or more repeats
  mean accuracy        mean over capsules of their share (equal to the mean over repeats when every
                       capsule has all its repeats), with a 95% Wilson interval whose sample size
                       is the number of capsules: repeats do not add new capsules, so they narrow
                       nothing that the choice of capsules leaves open
  repeat min / max     the lowest and highest accuracy of a single repeat (as HAL shows it)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

Z_95 = 1.959963984540054


@dataclass
class CapsuleShare:
    capsule_id: str
    repeats: int  # scored repeats
    correct: int
    share: float


@dataclass
class Reliability:
    repeats_planned: int
    capsules: int  # capsules with at least one scored repeat
    mean_accuracy: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    repeat_min: float | None = None
    repeat_max: float | None = None
    per_repeat: list[float] = field(default_factory=list)
    pass_at_k: float | None = None
    pass_all_k: float | None = None  # pass^k
    consistency: float | None = None
    per_capsule: list[CapsuleShare] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Reliability":
        return cls(**{**data, "per_capsule": [CapsuleShare(**share) for share in data.get("per_capsule", [])]})


def wilson(p: float, n: int) -> tuple[float, float]:
    """95% Wilson score interval for a share p observed over n units (p may be a mean of shares)."""
    denom = 1 + Z_95**2 / n
    centre = (p + Z_95**2 / (2 * n)) / denom
    half = Z_95 * math.sqrt(max(p * (1 - p), 0.0) / n + Z_95**2 / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def reliability(results: Iterable[tuple[str, int, bool]], repeats_planned: int) -> Reliability:
    """From (capsule id, repeat, verified correct) of every scored task of one run."""
    by_capsule: dict[str, list[bool]] = {}
    by_repeat: dict[int, list[bool]] = {}
    for capsule_id, repeat, correct in results:
        by_capsule.setdefault(capsule_id, []).append(bool(correct))
        by_repeat.setdefault(int(repeat), []).append(bool(correct))
    shares = [CapsuleShare(c, len(v), sum(v), sum(v) / len(v)) for c, v in sorted(by_capsule.items())]
    found = Reliability(repeats_planned=repeats_planned, capsules=len(shares), per_capsule=shares)
    if not shares:
        return found
    found.mean_accuracy = sum(s.share for s in shares) / len(shares)
    found.ci_low, found.ci_high = wilson(found.mean_accuracy, len(shares))
    found.per_repeat = [sum(v) / len(v) for _, v in sorted(by_repeat.items())]
    found.repeat_min, found.repeat_max = min(found.per_repeat), max(found.per_repeat)
    found.pass_at_k = sum(s.correct > 0 for s in shares) / len(shares)
    found.pass_all_k = sum(s.correct == s.repeats for s in shares) / len(shares)
    repeated = [s for s in shares if s.repeats >= 2]
    if repeated:
        found.consistency = sum(_agreement(s) for s in repeated) / len(repeated)
    return found


def _agreement(share: CapsuleShare) -> float:
    """Share of pairs of repeats with the same verdict."""
    n, c = share.repeats, share.correct
    return (math.comb(c, 2) + math.comb(n - c, 2)) / math.comb(n, 2)


def reliability_lines(found: Reliability) -> list[str]:
    """What `corebench show` prints about repeats (nothing worth saying for a single repeat)."""
    if found.repeats_planned < 2 or found.mean_accuracy is None:
        return []
    k = found.repeats_planned
    lines = [f"  over {k} repeats: mean accuracy {found.mean_accuracy:.1%} [95% {found.ci_low:.1%}–{found.ci_high:.1%}]"
             f"   repeats {found.repeat_min:.1%}–{found.repeat_max:.1%}",
             f"  pass@{k} {found.pass_at_k:.1%}   pass^{k} {found.pass_all_k:.1%}   consistency "
             + ("-" if found.consistency is None else f"{found.consistency:.1%}")]
    shares = ", ".join(f"{s.capsule_id} {s.correct}/{s.repeats}" for s in found.per_capsule)
    lines.append(f"  solved per capsule: {shares}")
    return lines
