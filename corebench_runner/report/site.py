"""Render the store into a static site: one jinja2 Environment, templates as files, escaping on.

Layout of a built site (every link is relative, so the folder can be published or opened as is):

    index.html                per suite and level, a leaderboard of comparable runs and its cost frontier; every run
    tasks.html                per suite and level, the per-task success heatmap (capsules x agents)
    compare.html              per suite and level, paired differences of every two ranked runs (bootstrap, McNemar)
    trends.html               per suite, accuracy over time per model, the oracle as a ceiling line (charts/*.svg)
    reviews.html              every verdict and flag: who made it (a person, triage, an import, a machine), when, why
    grid.html                 per suite and level, models x scaffolds: verified accuracy, interval, cost, time, effects
    study.html                people's sessions (corebench session): time to a correct answer per condition, speed-up
    capsules.html             per suite, capsules x models matrix
    runs/<run>.html           a run's summary and its sortable, filterable task table
    runs/<run>/<task>.html    one task: its questions, answers, evidence, flags and verdicts
    transcripts/<task>.html   one task's messages, tool calls and viewed figures (transcripts/img/)
    static/                   CSS
    results.csv, results.json the same numbers, for other tools
    measures.json, efficiency.csv  calibration, efficiency and study measures (report/measures_export.py)
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any, Callable

import jinja2

from corebench_runner.capsules.suite import BUNDLED_SUITE
from corebench_runner.diagnostics.stored import run_page_diagnostics
from corebench_runner.errors import UserError
from corebench_runner.models.names import display_name
from corebench_runner.report import (
    analytics,
    boards as leaderboards,
    charts,
    conversation,
    data as tables,
    export,
    heatmap,
    movement,
    paired,
    reviews as review_log,
    run_page,
    search_index,
)
from corebench_runner.report.efficiency import run_efficiency
from corebench_runner.report.grid import grids as model_scaffold_grids
from corebench_runner.report.measures_export import write_measures
from corebench_runner.report.transcripts import load_events, transcript_items
from corebench_runner.store.calibration import run_calibration
from corebench_runner.store.database import Store
from corebench_runner.store.results import run_summary
from corebench_runner.store.sessions import study_measures, study_names
from corebench_runner.store.set_asides import set_aside_history

BUNDLED_TEMPLATES = BUNDLED_SUITE / "reports"
# Folders the build owns inside --out: emptied first so no page of an older build lingers.
OWNED_DIRS = ("runs", "transcripts", "charts", "static", "search")


def template_dirs(templates: Path | None = None, suite_root: Path | None = None) -> list[Path]:
    """Where templates are looked up, first match wins: --templates, the suite's reports/, the bundled ones."""
    dirs = [Path(templates)] if templates else []
    if suite_root and (Path(suite_root) / "reports").is_dir():
        dirs.append(Path(suite_root) / "reports")
    dirs.append(BUNDLED_TEMPLATES)
    unique: list[Path] = []
    for folder in dirs:
        if folder.resolve() not in [u.resolve() for u in unique]:
            unique.append(folder)
    return unique


def make_environment(dirs: list[Path]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in dirs]),
        autoescape=True,  # everything an agent wrote reaches pages through here
        undefined=jinja2.StrictUndefined,  # a misspelt value fails the build instead of vanishing
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


# ------------------------------------------------------------------ display filters (formatting only)

def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_pct(value: Any) -> str:
    return "—" if _missing(value) else f"{float(value):.1%}"


def fmt_interval(low: Any, high: Any) -> str:
    return "" if _missing(low) or _missing(high) else f"{float(low):.0%}–{float(high):.0%}"


def fmt_usd(value: Any) -> str:
    if _missing(value):
        return "—"
    return f"${float(value):,.2f}" if abs(float(value)) >= 0.1 else f"${float(value):,.4f}"


def fmt_int(value: Any) -> str:
    return "—" if _missing(value) else f"{int(value):,}"


def fmt_duration(seconds: Any) -> str:
    if _missing(seconds):
        return "—"
    seconds = int(round(float(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else (f"{minutes}m {secs:02d}s" if minutes else f"{secs}s")


FILTERS: dict[str, Callable[..., str]] = {
    "pct": fmt_pct, "interval": fmt_interval, "usd": fmt_usd, "int": fmt_int, "duration": fmt_duration,
}


# ------------------------------------------------------------------ build

class SiteWriter:
    """Renders pages into the output folder; `root` makes every link relative to the page."""

    def __init__(self, env: jinja2.Environment, out: Path) -> None:
        self.env = env
        self.out = out
        self.pages: list[Path] = []

    def page(self, template: str, path: str, **context: Any) -> None:
        depth = path.count("/")
        target = self.out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            html = self.env.get_template(template).render(root="../" * depth, **context)
        except jinja2.TemplateSyntaxError as exc:
            raise UserError(f"{exc.filename or template}:{exc.lineno}: template syntax error: {exc.message}; "
                            "fix the template or drop it from --templates") from None
        except jinja2.UndefinedError as exc:
            raise UserError(f"template {template}: {exc.message}; a custom template may only use the values "
                            "documented in docs/reports.md") from None
        except jinja2.TemplateNotFound as exc:
            raise UserError(f"template {exc.name} not found in any of: "
                            f"{', '.join(str(p) for p in self.env.loader.searchpath)}") from None
        target.write_text(html, encoding="utf-8")
        self.pages.append(target)


def build_site(store: Store, out: Path, templates: Path | None = None, suite_root: Path | None = None) -> list[Path]:
    """Build the whole site into `out`; returns the pages written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: is a file; give a folder for the site")
    if templates is not None and not Path(templates).is_dir():
        raise UserError(f"--templates {templates}: not a folder; point it at a copy of reports/")
    dirs = template_dirs(templates, suite_root)
    out.mkdir(parents=True, exist_ok=True)
    previous_charts = charts.set_previous_aside(out / "charts")  # unchanged charts keep their PDFs (slow to draw)
    for name in OWNED_DIRS:
        shutil.rmtree(out / name, ignore_errors=True)
    _copy_static(dirs, out / "static")

    data = tables.load_report_data(store)
    data.runs["model"] = data.runs["model"].map(display_name)  # a scripted session by its name, not its path
    writer = SiteWriter(make_environment(dirs), out)
    runs = _run_records(data)
    nav = {"generated_from": str(store.path)}

    # Versions never mix: each suite (benchmark label) and level gets its own leaderboard, frontier and heatmap.
    (out / "charts").mkdir(parents=True, exist_ok=True)
    boards = [_board_context(data, board, out) for board in leaderboards.boards(data)]
    suite_boards = [{"suite": suite, "anchor": tables.slug(suite), "boards": [b for b in boards if b["suite"] == suite]}
                    for suite in tables.suites(data)]
    writer.page("index.html", "index.html", suites=suite_boards, runs=runs, outcome_names=tables.OUTCOMES, **nav)
    writer.page("tasks.html", "tasks.html", suites=suite_boards, **nav)
    # Paired comparisons (report/paired.py): every pair of a board's ranked runs, on one page.
    writer.page("compare.html", "compare.html", suites=_comparisons(data, suite_boards), **nav)

    suites = tables.suites(data)
    series = tables.accuracy_series(data)
    trend_suites = []
    # Reference runs (the oracle, no model) are the ceiling: a dashed line on the all-models chart, no chart of their own.
    reference = series["model"].combine(series["scaffold"], leaderboards.is_reference).astype(bool)
    for suite in suites:
        mine = series[series["suite"].eq(suite) & ~reference]
        ceilings = series[series["suite"].eq(suite) & reference]
        model_charts = [{"model": model,
                         "src": "charts/" + charts.accuracy_over_time(mine, model, out / "charts", suite),
                         "runs": _run_records(data, mine[mine["model"].eq(model)]),
                         "days": int(mine[mine["model"].eq(model)]["created_at"].dt.normalize().nunique()),
                         "caption": chart_caption(mine[mine["model"].eq(model)], suite,
                                                  ", ".join(sorted(mine[mine["model"].eq(model)]["level"].unique())))}
                        for model in sorted(mine["model"].unique())]
        trend_suites.append({"suite": suite, "anchor": tables.slug(suite), "model_charts": model_charts,
                             "level_charts": _level_trends(mine, ceilings, suite, out / "charts"),
                             "ceiling": _run_records(data, ceilings)})
    writer.page("trends.html", "trends.html", suites=trend_suites, **nav)

    matrices = []
    for suite in suites:
        models, matrix = tables.capsule_matrix(data, suite)
        matrices.append({"suite": suite, "anchor": tables.slug(suite), "models": models,
                         "rows": tables.records_of(matrix)})
    writer.page("capsules.html", "capsules.html", matrices=matrices, **nav)

    # Model against scaffold: one grid per leaderboard, with the effects of each in words.
    writer.page("grid.html", "grid.html", grids=model_scaffold_grids(leaderboards.boards(data)), **nav)

    # People's sessions (`corebench session`): time to a correct answer per condition, the agent's speed-up.
    writer.page("study.html", "study.html", studies=[study_measures(store, name) for name in study_names(store)], **nav)

    verdicts = review_log.verdicts(store)
    writer.page("reviews.html", "reviews.html", verdicts=tables.records_of(verdicts),
                verdict_counts=review_log.counts(tables.records_of(verdicts)),
                set_aside_decisions=list(reversed(set_aside_history(store))), **nav)
    verdicts_of_run = review_log.by_run(verdicts)
    verdicts_of_answer = review_log.by_answer(verdicts)

    answers = tables.answers_by_task(data)
    measured: dict[str, Any] = {}
    search_rows: list[list] = []  # the transcript search's index (report/search_index.py)
    for run in runs:
        tasks = tables.run_tasks(data, answers, run["id"])
        stage_funnel, diagnoses = run_page_diagnostics(store, run["id"])
        for task in tasks:
            task["transcript_href"] = f"../transcripts/{task['id']}.html" if task["transcript_path"] else None
            task["diagnosis"] = diagnoses.get(task["id"])
            for answer in task["answers"]:
                answer["verdicts"] = verdicts_of_answer.get(answer["id"], [])
        moved = movement.movement(store, run_summary(store, run["id"]), verdicts_of_answer)
        calibration = run_calibration(store, run["id"])  # confidence against verified correctness
        efficiency = run_efficiency(store, run["id"])  # time, turns, tokens and dollars by phase
        measured[run["id"]] = (calibration, efficiency)
        calibration_chart = charts.reliability_diagram(calibration.bins, out / "charts", run["slug"]) \
            if calibration.with_confidence else None
        # Transcript pages first: each transcript is read once, for its pages, the search and the analytics.
        per_task: list[analytics.TaskAnalytics] = []
        for task in tasks:
            if task["transcript_path"]:
                rows, events = _transcript_page(writer, store, run, task)
                search_rows += rows
                per_task.append(analytics.task_analytics(events))
        # -- run pages at scale: a short sortable row per task, one page per task (report/run_page.py)
        run_verdicts = verdicts_of_run.get(run["id"], [])
        per_kind = run_page.prepare_tasks(tasks, run["slug"])
        writer.page("run.html", f"runs/{run['slug']}.html", run=run, tasks=tasks, funnel=stage_funnel,
                    verdicts=run_verdicts, verdict_counts=review_log.counts(run_verdicts), movement=moved,
                    sort_keys=run_page.SORT_KEYS, filter_kinds=run_page.FILTER_KINDS, per_kind=per_kind,
                    calibration=calibration, calibration_chart=calibration_chart, efficiency=efficiency,
                    analytics=analytics.run_analytics(per_task), **nav)
        for task in tasks:
            task_verdicts = [v for a in task["answers"] for v in a["verdicts"]]
            writer.page("task.html", run_page.task_page_path(run["slug"], task["id"]), run=run, task=task,
                        verdicts=task_verdicts, verdict_counts=review_log.counts(task_verdicts), **nav)
        # -- end run pages at scale
    search_index.write_index(search_rows, out)
    writer.page("search.html", "search.html", **nav)

    export.write_results(data, out)
    write_measures(out, measured, [study_measures(store, name) for name in study_names(store)])
    shutil.rmtree(previous_charts, ignore_errors=True)
    return writer.pages


def _board_context(data: tables.ReportData, board: leaderboards.Board, out: Path) -> dict[str, Any]:
    """One leaderboard for the templates: ranked and partial runs, its frontier chart and its heatmap."""
    frontier = set(board.frontier)
    rows = _run_records(data, board.ranked)
    for row in rows:
        row["on_frontier"] = row["id"] in frontier
    # -- reference runs (the oracle): the ceiling, listed apart and drawn as a line, never ranked
    reference = _run_records(data, board.reference) if len(board.reference) else []
    ceiling = [(f"{run['scaffold']} ({run['verified_accuracy']:.0%})", run["verified_accuracy"]) for run in reference
               if run["verified_accuracy"] is not None]
    # -- end reference runs
    chart = None
    if len(board.ranked) and board.ranked["cost_per_task"].notna().any():
        chart = "charts/" + charts.cost_frontier(board.ranked, board.frontier, out / "charts", board.suite, board.level,
                                                 ceiling=ceiling)
    grid = heatmap.heatmap(data, board)
    caption = chart_caption(board.ranked, board.suite, board.level) if chart else ""
    return {"frontier_pdf": charts.pdf_twin(chart) if chart else None, "frontier_caption": caption,
            "suite": board.suite, "level": board.level, "anchor": board.anchor, "capsules": board.capsules,
            "rows": rows, "partial": _run_records(data, board.partial), "frontier_chart": chart,
            "frontier": [next(row for row in rows if row["id"] == run_id) for run_id in board.frontier],
            "unknown_cost": [row for row in rows if row["cost_per_task"] is None], "heatmap": grid,
            "reference": reference}


def chart_caption(runs: Any, suite: str, level: str) -> str:
    """What a figure's caption must state: n (runs, models, valid tasks), suite, level and grader."""
    graders = ", ".join(sorted(runs["grader"].unique())) or "none"
    return (f"n = {len(runs)} run(s) of {runs['model'].nunique()} model(s), {int(runs['valid_tasks'].sum()):,} "
            f"valid tasks; suite {suite}; level {level}; grader {graders}; verified accuracy with 95% intervals.")


def _level_trends(series: Any, reference: Any, suite: str, charts_dir: Path) -> list[dict[str, Any]]:
    """Per level of one suite, every model on one date axis, with the files a paper takes and their caption.
    `reference` runs (the oracle) are each level's ceiling: its latest run per scaffold, a dashed line."""
    out = []
    levels = set(series["level"]) | set(reference["level"])
    for level in sorted(levels, key=lambda lv: (leaderboards.LEVEL_ORDER.get(lv, 9), lv)):
        latest = reference[reference["level"].eq(level) & reference["verified_accuracy"].notna()] \
            .sort_values("created_at").groupby("scaffold").tail(1).sort_values("scaffold")
        ceiling = [(f"{run['scaffold']} ({run['verified_accuracy']:.0%})", run["verified_accuracy"])
                   for run in latest.to_dict("records")]
        name = charts.models_over_time(series, suite, level, charts_dir, ceiling=ceiling)
        mine = series[series["level"].eq(level)]
        caption = chart_caption(mine, suite, level) if len(mine) else f"No agent runs yet; suite {suite}; level {level}."
        if ceiling:
            caption += " Dashed line: the ceiling, " + ", ".join(label for label, _ in ceiling) + ", never a model."
        out.append({"level": level, "src": "charts/" + name, "pdf": "charts/" + charts.pdf_twin(name),
                    "caption": caption, "ceiling": [label for label, _ in ceiling]})
    return out


# Pairs grow as the square of the runs: past this many ranked runs a board compares its best ones only.
MAX_COMPARED_RUNS = 12


def _comparisons(data: tables.ReportData, suite_boards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per suite and level, the paired difference of every two ranked runs (the better-ranked one first)."""
    out = []
    for suite in suite_boards:
        boards = []
        for board in suite["boards"]:
            rows = board["rows"][:MAX_COMPARED_RUNS]
            by_id = {row["id"]: row for row in rows}
            pairs = [{"a": by_id[p.run_a], "b": by_id[p.run_b], "anchor": f"pair-{p.run_a}-vs-{p.run_b}",
                      "result": p} for p in paired.all_pairs(data.tasks, [row["id"] for row in rows])]
            boards.append({"level": board["level"], "anchor": board["anchor"], "rows": rows, "pairs": pairs,
                           "left_out": max(0, len(board["rows"]) - MAX_COMPARED_RUNS),
                           "pair_of": {(p["a"]["id"], p["b"]["id"]): p for p in pairs}})
        out.append({"suite": suite["suite"], "anchor": suite["anchor"], "boards": boards})
    return out


def _transcript_page(writer: SiteWriter, store: Store, run: dict[str, Any],
                     task: dict[str, Any]) -> tuple[list[list], list[Any]]:
    """The transcript as a conversation; a big one in several pages, each quick to open.
    Returns its search rows and its events."""
    events, problem = load_events(store.artifacts_dir, task["transcript_path"])
    items = conversation.readable(transcript_items(events, writer.out / "transcripts" / "img", str(task["id"]), "img"))
    pages = conversation.paginate(items)
    links = [{"number": p.number, "href": conversation.page_file(task["id"], p.number),
              "first": p.items[0]["number"] if p.items else 0, "last": p.items[-1]["number"] if p.items else 0}
             for p in pages]
    for page in pages:
        writer.page("transcript.html", "transcripts/" + conversation.page_file(task["id"], page.number), run=run,
                    task=task, items=page.items, problem=problem, generated_from=str(store.path),
                    page_number=page.number, pages=links, counts=conversation.summary(items))
    return [row for page in pages for row in search_index.entries(
        run, task, "transcripts/" + conversation.page_file(task["id"], page.number), page.items)], events


def _run_records(data: tables.ReportData, frame: Any = None) -> list[dict[str, Any]]:
    """Run rows for templates, each with its non-zero outcome counts in a fixed order."""
    records = tables.records_of(data.runs if frame is None else frame)
    for run in records:
        run["outcomes"] = [{"name": name, "count": run[f"n_{name}"]} for name in tables.OUTCOMES
                           if run[f"n_{name}"]]
        if run["n_pending"]:
            run["outcomes"].append({"name": "pending", "count": run["n_pending"]})
        run["reference"] = leaderboards.is_reference(run["model"], run["scaffold"])
    return records


def _copy_static(dirs: list[Path], target: Path) -> None:
    """static/ files from every template folder; a user's copy of a file replaces the bundled one."""
    for folder in reversed(dirs):
        static = folder / "static"
        if static.is_dir():
            shutil.copytree(static, target, dirs_exist_ok=True)
