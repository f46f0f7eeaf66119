"""Draw each patient's extra sleep under the two drugs (Student, 1908), from the R step's table.

One line per patient joins drug 1 to drug 2; a line rising to the right is a patient who slept
longer with drug 2. Also writes what the figure shows, for a script to check.
"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display in the container
import matplotlib.pyplot as plt
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"


def main() -> None:
    table = pd.read_csv(RESULTS / "differences.csv")  # written by code/paired_test.R
    fig, ax = plt.subplots(figsize=(5, 5))
    for _, row in table.iterrows():
        colour = "tab:green" if row["drug2"] > row["drug1"] else "tab:grey"
        ax.plot([1, 2], [row["drug1"], row["drug2"]], marker="o", color=colour)
    ax.set_xticks([1, 2], ["drug 1", "drug 2"])
    ax.set_xlim(0.7, 2.3)
    ax.set_ylabel("extra hours of sleep")
    ax.set_title("Cushny and Peebles' patients under two soporifics")
    fig.savefig(RESULTS / "paired_sleep.png", dpi=100, bbox_inches="tight")
    figure = {"patients_longer_with_drug2": int((table["drug2"] > table["drug1"]).sum()),
              "patients_equal": int((table["drug2"] == table["drug1"]).sum())}
    (RESULTS / "figure.json").write_text(json.dumps(figure, indent=2) + "\n")
    print(json.dumps(figure))


if __name__ == "__main__":
    main()
