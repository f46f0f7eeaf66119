"""Anscombe (1973): four data sets with the same summary statistics and very different plots.

For each set fits the least squares line of y on x and writes the summary statistics the
paper tabulates, rounded as it does, plus the four scatter plots with their fitted lines.
"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display in the container
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"
SETS = (1, 2, 3, 4)


def describe(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    fit = stats.linregress(x, y)
    return {
        "n": int(len(x)),
        "mean_x": round(float(x.mean()), 2),
        "mean_y": round(float(y.mean()), 2),
        "intercept": round(float(fit.intercept), 2),
        "slope": round(float(fit.slope), 2),
        "slope_se": round(float(fit.stderr), 3),
        "correlation": round(float(fit.rvalue), 2),
        "r_squared": round(float(fit.rvalue ** 2), 3),
        "distinct_x": int(len(np.unique(x))),
    }


def main() -> None:
    data = pd.read_csv(ROOT / "data" / "anscombe.csv")
    RESULTS.mkdir(exist_ok=True)
    table = {}
    fig, axes = plt.subplots(2, 2, figsize=(8, 6), sharex=True, sharey=True)
    for k, ax in zip(SETS, axes.flat):
        x, y = data[f"x{k}"].to_numpy(float), data[f"y{k}"].to_numpy(float)
        table[str(k)] = describe(x, y)
        grid = np.linspace(3, 20, 2)
        fit = stats.linregress(x, y)
        ax.scatter(x, y, color="tab:orange", edgecolor="black", zorder=3)
        ax.plot(grid, fit.intercept + fit.slope * grid, color="tab:blue")
        ax.set_title(f"Data set {k}")
    fig.suptitle("Anscombe's quartet: same fitted line, different data")
    fig.savefig(RESULTS / "quartet.png", dpi=100, bbox_inches="tight")

    # What the figure shows, for a script to check: the set whose x values all coincide but one.
    one_x = [int(k) for k, row in table.items() if row["distinct_x"] == 2]
    (RESULTS / "summary.json").write_text(json.dumps(table, indent=2) + "\n")
    (RESULTS / "figure.json").write_text(json.dumps({"set_with_single_outlying_x": one_x[0]}, indent=2) + "\n")
    print(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
