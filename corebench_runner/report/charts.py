"""Charts for the site: matplotlib (Agg backend) saved as SVG files next to the pages.

SVG text stays text (svg.fonttype none) so the files are small, and the hash salt and
metadata are fixed so that building the same store twice gives the same files.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display here, and a site build must never open a window
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from corebench_runner.report.data import slug  # noqa: E402

STYLE = {"svg.fonttype": "none", "svg.hashsalt": "corebench-report", "font.size": 9,
         "axes.spines.top": False, "axes.spines.right": False}
SVG_METADATA = {"Date": None, "Creator": "corebench-runner"}


def accuracy_over_time(runs: pd.DataFrame, model: str, out_dir: Path, suite: str = "") -> str:
    """Verified (solid, with its 95% interval) and automatic (dashed) accuracy of one model by run date.

    One line per (scaffold, level); `runs` holds one suite's runs only. Returns the SVG's file name.
    """
    name = f"accuracy-{slug(suite + ' ' + model)}.svg"
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 3.2))
        mine = runs[runs["model"].eq(model)]
        for (scaffold, level), group in mine.groupby(["scaffold", "level"]):
            dates = group["created_at"].dt.tz_localize(None)
            line, = ax.plot(dates, group["verified_accuracy"], marker="o", label=f"{scaffold} / {level} (verified)")
            ax.fill_between(dates, group["verified_ci_low"], group["verified_ci_high"], color=line.get_color(),
                            alpha=0.12, linewidth=0)
            ax.plot(dates, group["auto_accuracy"], marker=".", linestyle="--", color=line.get_color(),
                    alpha=0.7, label=f"{scaffold} / {level} (automatic)")
        if mine["created_at"].nunique() == 1:  # one date: give the axis a span, or it cannot place ticks
            day = mine["created_at"].iloc[0].tz_localize(None)
            ax.set_xlim(day - pd.Timedelta(days=1), day + pd.Timedelta(days=1))
        locator = AutoDateLocator(maxticks=6)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        _finish(fig, ax, f"{model} on {suite}: accuracy by run date" if suite else f"{model}: accuracy by run date",
                "run date")
        fig.savefig(out_dir / name, format="svg", metadata=SVG_METADATA, bbox_inches="tight")
        plt.close(fig)
    return name


def accuracy_against_cost(runs: pd.DataFrame, out_dir: Path, suite: str = "") -> str:
    """Every run of one suite as a point: verified accuracy against cost per task, per model and level."""
    name = f"accuracy-vs-cost-{slug(suite)}.svg" if suite else "accuracy-vs-cost.svg"
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 3.4))
        priced = runs[runs["cost_per_task"].notna()]
        markers = dict(zip(("easy", "medium", "hard"), ("s", "^", "o")))  # levels apart: shape, models: colour
        for (model, level), group in priced.groupby(["model", "level"]):
            ax.scatter(group["cost_per_task"], group["verified_accuracy"], label=f"{model} / {level}", alpha=0.85,
                       marker=markers.get(level, "o"))
        ax.xaxis.set_major_formatter("${x:,.2f}")
        title = "Verified accuracy against cost per task (each point a run)"
        _finish(fig, ax, f"{suite}: {title}" if suite else title, "cost per task (USD)")
        fig.savefig(out_dir / name, format="svg", metadata=SVG_METADATA, bbox_inches="tight")
        plt.close(fig)
    return name


def _finish(fig: plt.Figure, ax: plt.Axes, title: str, xlabel: str) -> None:
    ax.set_ylim(-0.02, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("accuracy")
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    ax.grid(axis="y", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
