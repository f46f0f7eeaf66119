"""How `corebench report` scales: build time of the site for 1,000 and for 10,000 task results.

    .venv/bin/python benchmarks/report_build.py [--small 1000] [--large 10000]

Each store holds runs of 100 tasks (several models, dates, every outcome kind, a transcript per
task), written with the engine's own store functions. Prints the build times, tasks per second
and the ratio; the goal is a ratio no worse than the ratio of task counts (linear growth).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the report tests' store builder

from corebench_runner.report.site import build_site  # noqa: E402
from corebench_runner.store import open_store  # noqa: E402
from support_report import CAPSULES, MODELS, add_run  # noqa: E402

TASKS_PER_RUN = 100


def fill_store(path: Path, tasks: int) -> None:
    rng = random.Random(tasks)
    capsules = [f"{CAPSULES[n % len(CAPSULES)]}-{n:03d}" for n in range(TASKS_PER_RUN)]
    with open_store(path) as store:
        for n in range(tasks // TASKS_PER_RUN):
            model = MODELS[n % len(MODELS)]
            day = 1 + n % 28
            add_run(store, rng, f"bench-{n:04d}", model=model, created=f"2026-10-{day:02d}T{n % 24:02d}:00:00+00:00",
                    capsules=capsules, skill=0.3 + 0.5 * rng.random())


def time_build(tasks: int, workdir: Path) -> tuple[float, int]:
    store_path = workdir / f"store-{tasks}" / "results.sqlite"
    started = time.perf_counter()
    fill_store(store_path, tasks)
    print(f"  {tasks:>6,} tasks: store filled in {time.perf_counter() - started:.1f}s", flush=True)
    with open_store(store_path, create=False) as store:
        started = time.perf_counter()
        pages = build_site(store, workdir / f"site-{tasks}")
        return time.perf_counter() - started, len(pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000, help="task results in the small store")
    parser.add_argument("--large", type=int, default=10_000, help="task results in the large store")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="corebench-report-bench-") as tmp:
        small, small_pages = time_build(args.small, Path(tmp))
        large, large_pages = time_build(args.large, Path(tmp))
    print(f"{args.small:>6,} tasks: {small:6.1f}s, {small_pages:>6,} pages, {args.small / small:7.0f} tasks/s")
    print(f"{args.large:>6,} tasks: {large:6.1f}s, {large_pages:>6,} pages, {args.large / large:7.0f} tasks/s")
    size_ratio, time_ratio = args.large / args.small, large / small
    verdict = "linear or better" if time_ratio <= size_ratio * 1.1 else "WORSE than linear"
    print(f"ratio: {time_ratio:.2f}x the time for {size_ratio:.0f}x the tasks ({verdict})")


if __name__ == "__main__":
    main()
