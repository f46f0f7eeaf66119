"""Longley (1967) regression, checked against the NIST StRD certified values.

Fits TOTEMP on the six predictors by ordinary least squares and writes the estimates,
rounded as the task asks, to results/summary.json.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"


def main() -> None:
    data = pd.read_csv(ROOT / "data" / "longley.csv")
    y = data["TOTEMP"]
    X = sm.add_constant(data[["GNPDEFL", "GNP", "UNEMP", "ARMED", "POP", "YEAR"]])
    fit = sm.OLS(y, X).fit()
    summary = {
        "coefficients": {
            "const": round(float(fit.params["const"]), 2),
            "GNPDEFL": round(float(fit.params["GNPDEFL"]), 6),
            "GNP": float(f"{fit.params['GNP']:.6g}"),
            "UNEMP": round(float(fit.params["UNEMP"]), 6),
            "ARMED": round(float(fit.params["ARMED"]), 6),
            "POP": float(f"{fit.params['POP']:.6g}"),
            "YEAR": round(float(fit.params["YEAR"]), 4),
        },
        "residual_sd": round(float(np.sqrt(fit.scale)), 4),
        "r_squared": round(float(fit.rsquared), 6),
        "n": int(fit.nobs),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the normality tests in the table warn that n = 16 is small
        table = str(fit.summary())
    (RESULTS / "ols_summary.txt").write_text(table + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
