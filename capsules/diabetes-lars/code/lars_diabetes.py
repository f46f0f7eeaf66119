"""Least Angle Regression on the diabetes data (Efron, Hastie, Johnstone and Tibshirani, 2004).

As in the paper, the ten baseline covariates are centred and scaled to unit length and the
response is centred. Writes the LARS entry order, the full least squares fit and the
coefficient-path figure (cf. the paper's Figure 3) to results/.
"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display in the container
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import lars_path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"
COVARIATES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


def standardize(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    X = data[COVARIATES].to_numpy(dtype=float)
    X = X - X.mean(axis=0)
    X = X / np.sqrt((X ** 2).sum(axis=0))  # unit length, as in the paper
    y = data["target"].to_numpy(dtype=float)
    return X, y - y.mean()


def main() -> None:
    data = pd.read_csv(ROOT / "data" / "diabetes.csv")
    X, y = standardize(data)
    _, active, coefs = lars_path(X, y, method="lar")
    ols, *_ = np.linalg.lstsq(X, y, rcond=None)
    r_squared = 1 - ((y - X @ ols) ** 2).sum() / (y ** 2).sum()

    RESULTS.mkdir(exist_ok=True)
    l1 = np.abs(coefs).sum(axis=0)
    fig, ax = plt.subplots(figsize=(7, 5))
    for j, name in enumerate(COVARIATES):
        ax.plot(l1, coefs[j], marker=".")
        ax.annotate(name, (l1[-1], coefs[j, -1]), xytext=(4, 0), textcoords="offset points", va="center")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("sum |beta_j|")
    ax.set_ylabel("standardized coefficient")
    ax.set_title("LARS coefficient paths, diabetes data")
    fig.savefig(RESULTS / "lars_paths.png", dpi=100, bbox_inches="tight")

    end = coefs[:, -1]
    largest = COVARIATES[int(np.argmax(np.abs(end)))]
    summary = {
        "entry_order": [int(j) + 1 for j in active],
        "entry_order_names": [COVARIATES[j] for j in active],
        "ols_coefficients": {name: round(float(b), 1) for name, b in zip(COVARIATES, ols)},
        "r_squared": round(float(r_squared), 4),
        "n": int(len(y)),
    }
    # The figure's reading, written out so that a script can check it without looking.
    figure = {"end_of_path_coefficients": {n: round(float(b), 1) for n, b in zip(COVARIATES, end)},
              "largest_abs_at_end": largest}
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (RESULTS / "lars_paths.json").write_text(json.dumps(figure, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
