"""Charts for the site: matplotlib (Agg backend) saved as SVG files next to the pages, each with a PDF twin.

SVG text stays text (svg.fonttype none) so the files are small, and the hash salt and
metadata are fixed so that building the same store twice gives the same files. Every chart is
also written as PDF beside its SVG (same name, .pdf), the form a paper's figure takes.
"""

from __future__ import annotations

import io
import math
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display here, and a site build must never open a window
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, PercentFormatter  # noqa: E402

from corebench_runner.report.data import slug  # noqa: E402

STYLE = {"svg.fonttype": "none", "svg.hashsalt": "corebench-report", "font.size": 9,
         "axes.spines.top": False, "axes.spines.right": False}
SVG_METADATA = {"Date": None, "Creator": "corebench-runner"}
PDF_METADATA = {"CreationDate": None, "Creator": "corebench-runner"}  # no date: the same store, the same file
SCAFFOLD_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
MAX_DATE_TICKS = 8


def accuracy_over_time(runs: pd.DataFrame, model: str, out_dir: Path, suite: str = "") -> str:
    """Verified (solid, with 95% interval bars) and automatic (dashed) accuracy of one model by run date.

    One line per (scaffold, level); `runs` holds one suite's runs only. The axis counts days: runs
    of one day sit on that day, and a lone run is a labelled point. Returns the SVG's file name.
    """
    name = f"accuracy-{slug(suite + ' ' + model)}.svg"
    mine = runs[runs["model"].eq(model)].sort_values("created_at")
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.4, 2.8))
        for (scaffold, level), group in mine.groupby(["scaffold", "level"]):
            when = group["created_at"].dt.tz_localize(None)
            verified = group["verified_accuracy"]
            low = (verified - group["verified_ci_low"]).clip(lower=0).fillna(0)
            high = (group["verified_ci_high"] - verified).clip(lower=0).fillna(0)
            bars = ax.errorbar(when, verified, yerr=[low, high], marker="o", capsize=3, elinewidth=0.8,
                               label=f"{scaffold} / {level}: verified, 95% interval")
            colour = bars.lines[0].get_color()
            ax.plot(when, group["auto_accuracy"], marker=".", linestyle="--", color=colour, alpha=0.6,
                    label=f"{scaffold} / {level}: automatic")
            if len(group) == 1 and pd.notna(verified.iloc[0]):  # a lone run: its number beside its point
                ax.annotate(f"{verified.iloc[0]:.0%}", (when.iloc[0], verified.iloc[0]), textcoords="offset points",
                            xytext=(6, 4), fontsize=8, color=colour)
        _day_axis(ax, mine["created_at"])
        _finish(fig, ax, f"{model} on {suite}: accuracy by run date" if suite else f"{model}: accuracy by run date",
                "run date (UTC)")
        save(fig, out_dir / name)
    return name


def pdf_twin(svg_name: str) -> str:
    """The PDF file written beside an SVG chart."""
    return svg_name.removesuffix(".svg") + ".pdf"


PREVIOUS_CHARTS = ".charts-previous"  # the last build's charts/, kept aside while a rebuild draws its own


def set_previous_aside(charts_dir: Path) -> Path:
    """Move the last build's charts aside (so nothing stale stays in charts/), for `save` to reuse its PDFs."""
    previous = charts_dir.parent / PREVIOUS_CHARTS
    shutil.rmtree(previous, ignore_errors=True)  # left by a build that stopped half way
    if charts_dir.is_dir():
        charts_dir.rename(previous)
    return previous


def save(fig: plt.Figure, svg_path: Path) -> None:
    """The chart as SVG for the page and as PDF for a paper, side by side; the figure is closed.

    Writing a PDF costs several times the SVG, and both are the same for the same chart: when the last
    build (set aside by `set_previous_aside`) drew this SVG byte for byte, its PDF is moved back, not drawn again.
    """
    drawn = io.BytesIO()
    fig.savefig(drawn, format="svg", metadata=SVG_METADATA, bbox_inches="tight")
    svg = drawn.getvalue()
    svg_path.write_bytes(svg)
    pdf_path = svg_path.with_suffix(".pdf")
    previous = svg_path.parent.parent / PREVIOUS_CHARTS / svg_path.name
    if previous.with_suffix(".pdf").is_file() and previous.is_file() and previous.read_bytes() == svg:
        previous.with_suffix(".pdf").replace(pdf_path)
    else:
        fig.savefig(pdf_path, format="pdf", metadata=PDF_METADATA, bbox_inches="tight")
    plt.close(fig)


def models_over_time(runs: pd.DataFrame, suite: str, level: str, out_dir: Path,
                     ceiling: list[tuple[str, float]] | None = None) -> str:
    """Every model on one chart: verified accuracy (95% interval bars) of each run of one suite and level by date.

    Colour is the model, marker the scaffold; a line joins one (model, scaffold)'s runs in date order.
    Runs are placed at their time of day, and models sharing a day are nudged apart by a few hours
    so their points and bars never sit on one another. `runs` holds agents only; `ceiling` (label,
    accuracy): reference runs such as the oracle, a dashed line across, never a model's line.
    Returns the SVG's file name.
    """
    name = f"trend-{slug(suite + ' ' + level)}.svg"
    mine = runs[runs["suite"].eq(suite) & runs["level"].eq(level)].sort_values("created_at")
    models = sorted(mine["model"].unique())
    scaffolds = sorted(mine["scaffold"].unique())
    palette = plt.get_cmap("tab10")
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.6, 3.8))
        for (model, scaffold), group in mine.groupby(["model", "scaffold"]):
            index = models.index(model)
            nudge = pd.Timedelta(hours=3) * (index - (len(models) - 1) / 2)
            when = group["created_at"].dt.tz_localize(None) + nudge
            verified = group["verified_accuracy"]
            low = (verified - group["verified_ci_low"]).clip(lower=0).fillna(0)
            high = (group["verified_ci_high"] - verified).clip(lower=0).fillna(0)
            ax.errorbar(when, verified, yerr=[low, high], color=palette(index % 10), capsize=3, elinewidth=0.8,
                        marker=SCAFFOLD_MARKERS[scaffolds.index(scaffold) % len(SCAFFOLD_MARKERS)], markersize=6,
                        linewidth=1.3, label=f"{model} / {scaffold}")
        for label, accuracy in ceiling or []:  # what is reachable: a line across every date, no model
            ax.axhline(accuracy, color="#2a7", linestyle="--", linewidth=1.1, zorder=0, label=f"ceiling: {label}")
        _day_axis(ax, mine["created_at"])
        _finish(fig, ax, f"{suite} · {level}: verified accuracy by run date, every model", "run date (UTC)")
        if ax.get_legend() is not None:  # a legend readable at page width: below the axes, in columns
            ax.get_legend().remove()
            ax.legend(fontsize=9, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.18),
                      ncol=min(3, max(1, len(models))))
        save(fig, out_dir / name)
    return name


def _day_axis(ax: plt.Axes, created: pd.Series) -> None:
    """A date axis whose unit is the day: whole days from the first run's day to the day after the last."""
    if created.empty:
        return
    first = created.min().tz_localize(None).normalize()
    last = created.max().tz_localize(None).normalize()
    span = max(1, (last - first).days)
    start, end = first - pd.Timedelta(days=1), last + pd.Timedelta(days=2)
    ax.set_xlim(start, end)
    step = max(1, math.ceil((span + 3) / MAX_DATE_TICKS))
    ax.xaxis.set_major_locator(mdates.DayLocator(interval=step))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))
    if step > 1 and span <= 62:  # a small tick per day while there is room for one
        ax.xaxis.set_minor_locator(mdates.DayLocator())
        ax.tick_params(axis="x", which="minor", length=2)
    if first.year != last.year or span > 300:
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))


def dollars(value: float, _position: object = None) -> str:
    """A cost tick as people read it: $0.05, $0.2, $1, $20."""
    if value <= 0:
        return ""
    if value >= 1:
        return f"${value:,.0f}" if value == round(value) else f"${value:,.1f}"
    return "$" + f"{value:.4f}".rstrip("0").rstrip(".")


def cost_frontier(ranked: pd.DataFrame, frontier: list[str], out_dir: Path, suite: str, level: str,
                  ceiling: list[tuple[str, float]] | None = None) -> str:
    """Verified accuracy against cost per task on a log axis: a numbered point per ranked run (its rank),
    the Pareto frontier drawn through the efficient runs. Runs of unknown cost are not drawn
    (the page lists them); a cost that is a lower bound is a hollow point. `ceiling` (label, accuracy):
    reference runs such as the oracle, drawn as a dashed horizontal line, never as a point."""
    name = f"frontier-{slug(suite + ' ' + level)}.svg"
    priced = ranked[ranked["cost_per_task"].notna() & ranked["cost_per_task"].gt(0)]
    scaffolds = sorted(ranked["scaffold"].unique())
    models = sorted(ranked["model"].unique())
    palette = plt.get_cmap("tab10")
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(7.2, 4.0))
        on_frontier = priced.set_index("id").loc[[r for r in frontier if r in set(priced["id"])]]
        if len(on_frontier) > 1:
            ax.plot(on_frontier["cost_per_task"], on_frontier["verified_accuracy"], color="#555", linewidth=1.2,
                    linestyle="-", zorder=1, label="Pareto frontier")
        for run in priced.to_dict("records"):
            colour = palette(models.index(run["model"]) % 10)
            marker = SCAFFOLD_MARKERS[scaffolds.index(run["scaffold"]) % len(SCAFFOLD_MARKERS)]
            hollow = bool(run.get("cost_is_lower_bound"))
            ax.scatter([run["cost_per_task"]], [run["verified_accuracy"]], s=46, marker=marker, zorder=3,
                       facecolors="white" if hollow else colour, edgecolors=colour, linewidths=1.4)
        _label_points(ax, priced)
        for label, accuracy in ceiling or []:  # what is reachable: a line across, no cost, no rank
            ax.axhline(accuracy, color="#2a7", linestyle="--", linewidth=1.1, zorder=0, label=f"ceiling: {label}")
        ax.set_xscale("log")
        _cost_ticks(ax, priced["cost_per_task"])
        for model in models:  # legend: colour = model, shape = scaffold
            ax.scatter([], [], color=palette(models.index(model) % 10), marker="o", s=30, label=model)
        for scaffold in scaffolds:
            ax.scatter([], [], facecolors="none", edgecolors="#333",
                       marker=SCAFFOLD_MARKERS[scaffolds.index(scaffold) % len(SCAFFOLD_MARKERS)], s=30, label=scaffold)
        _finish(fig, ax, f"{suite} · {level}: verified accuracy against cost per task", "cost per task (USD, log scale)")
        save(fig, out_dir / name)
    return name


def _cost_ticks(ax: plt.Axes, costs: pd.Series) -> None:
    """Log ticks at 1, 2 and 5 of each decade, padded so the end points are not on the frame."""
    if costs.empty:
        ax.set_xlim(0.01, 1)
    else:
        low, high = float(costs.min()) / 1.6, float(costs.max()) * 1.6
        if high / low < 10:  # at least a decade, so the 1-2-5 ticks have room and read as dollars
            widen = math.sqrt(10 / (high / low))
            low, high = low / widen, high * widen
        ax.set_xlim(low, high)
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(dollars))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _label_points(ax: plt.Axes, priced: pd.DataFrame) -> None:
    """Each point's rank beside it; labels of points that nearly coincide are stacked, not overprinted."""
    placed: list[tuple[float, float]] = []
    for run in priced.sort_values(["verified_accuracy", "cost_per_task"]).to_dict("records"):
        x, y = math.log10(run["cost_per_task"]), float(run["verified_accuracy"])
        near = sum(1 for px, py in placed if abs(px - x) < 0.08 and abs(py - y) < 0.04)
        placed.append((x, y))
        ax.annotate(str(run["rank"]), (run["cost_per_task"], y), textcoords="offset points",
                    xytext=(6, -3 + 9 * near), fontsize=8, fontweight="bold", color="#222")


def _finish(fig: plt.Figure, ax: plt.Axes, title: str, xlabel: str) -> None:
    ax.set_ylim(-0.02, 1.05)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("accuracy")
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left")
    ax.grid(axis="y", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def reliability_diagram(bins: list, out_dir: Path, run_slug: str) -> str:
    """Accuracy against mean confidence per confidence bin (dot size: answers in it), beside the diagonal of
    perfect calibration. `bins` are store/calibration.py CalibrationBins. Returns the SVG's file name."""
    name = f"calibration-{run_slug}.svg"
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(3.4, 3.2))
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8, label="perfectly calibrated")
        if bins:
            ax.scatter([b.mean_confidence for b in bins], [b.accuracy for b in bins],
                       s=[20 + 12 * b.count for b in bins], zorder=3, label="answers in a confidence bin")
            for b in bins:
                ax.annotate(str(b.count), (b.mean_confidence, b.accuracy), textcoords="offset points", xytext=(6, -10),
                            fontsize=7)
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.02, 1.02)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_xlabel("stated confidence")
        ax.set_ylabel("verified accuracy")
        ax.set_title("Reliability diagram")
        ax.legend(loc="lower right", fontsize=7, frameon=False)
        fig.savefig(out_dir / name, format="svg", metadata=SVG_METADATA, bbox_inches="tight")
        plt.close(fig)
    return name
