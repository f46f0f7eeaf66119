"""How `corebench report` scales: build time of the site for about 1,000 and 10,000 task results.

    .venv/bin/python benchmarks/report_build.py [--small 1000] [--large 10000]

Each store has the shape of the report tests' fleet (tests/support_fleet.py: 6 models x 3 scaffolds
x 2 suites over 60 days, repeats, partial runs, unknown costs, disputes and verdicts, a transcript
per task), grown by giving each suite more capsules, and written with the engine's own store
functions. Prints the build times, tasks per second and the ratio; the goal is a ratio no worse
than the ratio of task counts (linear growth). Each store is also rebuilt into the same folder, the
usual second `corebench report`, where unchanged charts keep their PDFs instead of drawing them again.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the report tests' store builder

from corebench_runner.report.site import build_site  # noqa: E402
from corebench_runner.store.database import open_store  # noqa: E402
from support_fleet import build_fleet_store  # noqa: E402

TASKS_AT_SCALE_1 = 360  # about what build_fleet_store(scale=1) records


def fill_store(path: Path, tasks: int) -> int:
    """A fleet store of about `tasks` task results; returns how many it holds."""
    fleet = build_fleet_store(path, scale=max(1, round(tasks / TASKS_AT_SCALE_1)))
    try:
        return fleet.store.query("SELECT COUNT(*) AS n FROM tasks")[0]["n"]
    finally:
        fleet.store.close()


def time_build(tasks: int, workdir: Path) -> tuple[float, int, int]:
    store_path = workdir / f"store-{tasks}" / "results.sqlite"
    started = time.perf_counter()
    held = fill_store(store_path, tasks)
    print(f"  {held:>6,} tasks: store filled in {time.perf_counter() - started:.1f}s", flush=True)
    with open_store(store_path, create=False) as store:
        started = time.perf_counter()
        pages = build_site(store, workdir / f"site-{tasks}")
        took = time.perf_counter() - started
        # The usual second build: the same folder, unchanged charts keep their PDFs (charts.save).
        started = time.perf_counter()
        build_site(store, workdir / f"site-{tasks}")
        print(f"  {held:>6,} tasks: built in {took:.1f}s, rebuilt into the same folder in "
              f"{time.perf_counter() - started:.1f}s", flush=True)
        return took, len(pages), held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000, help="task results in the small store")
    parser.add_argument("--large", type=int, default=10_000, help="task results in the large store")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="corebench-report-bench-") as tmp:
        small, small_pages, small_tasks = time_build(args.small, Path(tmp))
        large, large_pages, large_tasks = time_build(args.large, Path(tmp))
    print(f"{small_tasks:>6,} tasks: {small:6.1f}s, {small_pages:>6,} pages, {small_tasks / small:7.0f} tasks/s")
    print(f"{large_tasks:>6,} tasks: {large:6.1f}s, {large_pages:>6,} pages, {large_tasks / large:7.0f} tasks/s")
    size_ratio, time_ratio = large_tasks / small_tasks, large / small
    verdict = "linear or better" if time_ratio <= size_ratio * 1.1 else "WORSE than linear"
    print(f"ratio: {time_ratio:.2f}x the time for {size_ratio:.1f}x the tasks ({verdict})")


if __name__ == "__main__":
    main()
