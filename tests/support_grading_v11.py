"""CORE-Bench v1.1 test helpers: the shared v1.1 files, and upstream's v1.1 rule restated plainly.

`upstream_v11_counts` restates the v1.1 CoreBench.__eval_result_json (the shared README's
rule in words: widened interval plus numpy.isclose, booleans, string and list aliases, the
walk that stops at the first exception) without any of our code, so that our grader can be
checked against it on thousands of answers.
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
import warnings
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import t as student_t

# shared/ sits beside the repository (CI, the main checkout) or beside the worktrees' parent folder.
SHARED_V11 = next((p / "shared" / "corebench" / "v1.1" for p in Path(__file__).resolve().parents
                   if (p / "shared" / "corebench" / "v1.1").is_dir()),
                  Path(__file__).resolve().parents[2] / "shared" / "corebench" / "v1.1")
MAINLINE = SHARED_V11 / "croissant_mainline.json.gpg"
OOD = SHARED_V11 / "croissant_ood.json.gpg"
ALIASES = SHARED_V11 / "answer_aliases.json.gpg"


def gpg_json(path: Path, passphrase: str = "reproducibility") -> Any:
    with tempfile.TemporaryDirectory() as home:
        out = subprocess.run(["gpg", "--homedir", home, "--batch", "--quiet", "--pinentry-mode", "loopback",
                              "--passphrase", passphrase, "--decrypt", str(path)], capture_output=True, check=True)
    return json.loads(out.stdout)


@lru_cache(maxsize=None)
def _croissant_tasks(path: Path) -> tuple:
    records = gpg_json(path)["recordSet"][0]["data"]
    return tuple({"capsule_id": r["tasks/capsule_id"], "results": json.loads(r["tasks/expected_answer"])}
                 for r in records)


def v11_tasks() -> list[dict[str, Any]]:
    """Every v1.1 task (mainline then ood) as {capsule_id, results}; fresh copies."""
    return json.loads(json.dumps(list(_croissant_tasks(MAINLINE)) + list(_croissant_tasks(OOD))))


@lru_cache(maxsize=1)
def _alias_json() -> str:
    return json.dumps(gpg_json(ALIASES))


def alias_tables() -> tuple[dict, dict]:
    data = json.loads(_alias_json())
    return data["answer_aliases"], data["list_answer_aliases"]


def _places(value: Any) -> int:
    try:
        return max(0, -Decimal(str(value)).normalize().as_tuple().exponent)
    except Exception:
        return 0


def upstream_v11_counts(capsule_id: str, gt_result: list[dict[str, Any]], reported: dict[str, Any]) -> dict[str, int]:
    """Upstream v1.1's per-task counts for one report (the report is copied, never changed)."""
    string_aliases, list_aliases = alias_tables()
    first = gt_result[0]
    kinds = {}
    for key, value in first.items():
        if isinstance(value, (int, float)):
            kinds[key] = "numeric"
        elif isinstance(value, list):
            kinds[key] = "list"
        elif isinstance(value, str):
            kinds[key] = "string"
    correct = {"written": 0, "vision": 0}
    report = dict(reported)
    for key in list(report):
        value = report[key]
        try:
            if "%" in value:
                value = value.replace("%", "")
            value = float(value)
        except Exception:
            pass
        report[key] = value
    try:
        n = len(gt_result)
        bounds = {}
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            numeric = [k for k, kind in kinds.items() if kind == "numeric"]
            means = {k: np.mean([run[k] for run in gt_result]) for k in numeric}
            sds = {k: np.std([run[k] for run in gt_result], ddof=1) for k in numeric}
            quantile = student_t.ppf(0.975, n - 1)
            for k in numeric:
                half = 0.5 * (10 ** (-max(_places(run[k]) for run in gt_result)))
                spread = quantile * sds[k] * math.sqrt(1 + 1 / n)
                bounds[k] = (means[k] - spread - half, means[k] + spread + half)
        try:
            for key, value in report.items():
                kind = kinds.get(key)
                if kind == "numeric":
                    lo, hi = bounds[key]
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        ok = lo <= value <= hi or np.isclose(value, lo) or np.isclose(value, hi)
                elif kind == "list":
                    accepted = list_aliases.get(capsule_id, {}).get(key)
                    if accepted is None:
                        ok = value == first[key]
                    else:
                        mine = {item.lower() for item in value}
                        ok = any(mine == {a.lower() for a in subset} for subset in accepted)
                elif kind == "string":
                    reference = str(first[key])
                    if reference.lower() in ("true", "false"):
                        if isinstance(value, bool):
                            value = str(value)
                        elif isinstance(value, (int, float)) and value in (0, 1):
                            value = "True" if value == 1 else "False"
                    text = str(value).lower()
                    accepted = string_aliases.get(capsule_id, {}).get(key)
                    ok = text in {a.lower() for a in accepted} if accepted is not None else text == reference.lower()
                else:
                    continue
                if ok:
                    correct["vision" if "fig" in key else "written"] += 1
        except Exception:
            pass
    except Exception:
        pass
    return {"correct_written": correct["written"], "correct_vision": correct["vision"],
            "total_written": sum("fig" not in k for k in kinds), "total_vision": sum("fig" in k for k in kinds)}
