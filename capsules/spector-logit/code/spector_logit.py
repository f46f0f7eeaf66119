"""Spector and Mazzeo (1980): does the PSI teaching method improve grades in economics?

Logit and probit models of GRADE (1 = the student's grade improved) on GPA, TUCE (score on a
pre-test of economics knowledge) and PSI (1 = taught with the Personalized System of
Instruction), as tabulated in Greene's Econometric Analysis. Writes results/estimates.json,
rounded to 3 decimals as Greene's table is.
"""

import json
from pathlib import Path

import pandas as pd
import statsmodels.api as sm

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"


def rounded(params: pd.Series, places: int) -> dict[str, float]:
    return {name: round(float(value), places) for name, value in params.items()}


def main() -> None:
    data = pd.read_csv(ROOT / "data" / "spector.csv")
    X = sm.add_constant(data[["GPA", "TUCE", "PSI"]])
    logit = sm.Logit(data["GRADE"], X).fit(disp=0)
    probit = sm.Probit(data["GRADE"], X).fit(disp=0)
    estimates = {
        "logit": {"coefficients": rounded(logit.params, 3), "log_likelihood": round(float(logit.llf), 3),
                  "mcfadden_r2": round(float(logit.prsquared), 4)},
        "probit": {"coefficients": rounded(probit.params, 3), "log_likelihood": round(float(probit.llf), 3)},
        "n": int(logit.nobs),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "estimates.json").write_text(json.dumps(estimates, indent=2) + "\n")
    (RESULTS / "logit_summary.txt").write_text(str(logit.summary()) + "\n\n" + str(probit.summary()) + "\n")
    print(json.dumps(estimates, indent=2))


if __name__ == "__main__":
    main()
