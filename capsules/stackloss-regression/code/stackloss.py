"""Brownlee's (1965) stack loss data: least squares and least absolute deviations fits.

21 days of operation of a plant oxidising ammonia to nitric acid: the stack loss (ammonia
escaping, in tenths of a percent) against air flow, cooling water temperature and acid
concentration. Writes both fits, rounded to 4 decimals, to results/fits.json.
"""

import json
import warnings
from pathlib import Path

import pandas as pd
import statsmodels.api as sm

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"
PREDICTORS = ["AIRFLOW", "WATERTEMP", "ACIDCONC"]


def report(fits: dict) -> str:
    """The two fits side by side, as a person would read them."""
    lines = [f"{'term':<10} {'least squares':>14} {'least abs. dev.':>16}"]
    for name in ["const"] + PREDICTORS:
        lines.append(f"{name:<10} {fits['least_squares'][name]:>14.4f} {fits['least_absolute_deviations'][name]:>16.4f}")
    lines.append(f"least squares residual standard error: {fits['least_squares_residual_se']:.4f}")
    return "\n".join(lines) + "\n"


def main() -> None:
    data = pd.read_csv(ROOT / "data" / "stackloss.csv")
    X = sm.add_constant(data[PREDICTORS])
    ols = sm.OLS(data["STACKLOSS"], X).fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # QuantReg warns about its iteration count on tiny data
        lad = sm.QuantReg(data["STACKLOSS"], X).fit(q=0.5)
    fits = {
        "least_squares": {name: round(float(v), 4) for name, v in ols.params.items()},
        "least_squares_residual_se": round(float(ols.scale ** 0.5), 4),
        "least_absolute_deviations": {name: round(float(v), 4) for name, v in lad.params.items()},
        "n": int(ols.nobs),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fits.json").write_text(json.dumps(fits, indent=2) + "\n")
    (RESULTS / "report.txt").write_text(report(fits))
    print(json.dumps(fits, indent=2))


if __name__ == "__main__":
    main()
