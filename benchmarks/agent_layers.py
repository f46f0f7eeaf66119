"""An agent layer is built once per task image and agent version, then reused.

    .venv/bin/python benchmarks/agent_layers.py [claude-code codex opencode]

For each agent: a throwaway task image (the python base plus a unique label, so nothing is
cached for it), then the agent layer asked for twice, as two runs would. Prints the builds and
the time of each; the second must build nothing (goal: 0 builds, under a second). The agent's
binary comes from the machine's npm cache (scripts/setup.sh fills it). The throwaway images
are removed at the end.
"""

from __future__ import annotations

import io
import secrets
import sys
import time

from corebench_runner.agents import image as layers
from corebench_runner.agents.cli_agents.recipe import BUNDLED, bundled_recipe
from corebench_runner.images import BASE_IMAGES
from corebench_runner.sandbox.docker.engine import docker_client

builds: list[str] = []
_real_build = layers.run_build


def counting_build(context, tag, log_dir, **kwargs):  # type: ignore[no-untyped-def]
    builds.append(tag)
    return _real_build(context, tag, log_dir, **kwargs)


layers.run_build = counting_build


def throwaway_task_image() -> str:
    tag = f"corebench/bench-task:{secrets.token_hex(4)}"
    dockerfile = f"FROM {BASE_IMAGES['python'].tag}\nLABEL corebench.bench={tag.rsplit(':', 1)[1]}\n"
    docker_client().images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True, pull=False)
    return tag


def main(names: list[str]) -> int:
    client = docker_client()
    failed = False
    for name in names or list(BUNDLED):
        recipe = bundled_recipe(name)
        task_image = throwaway_task_image()
        made: list[str] = []
        try:
            timings = []
            for run in (1, 2):
                builds.clear()
                started = time.perf_counter()
                made.append(layers.agent_image(task_image, recipe))
                timings.append((len(builds), time.perf_counter() - started))
            (first_builds, first_s), (second_builds, second_s) = timings
            ok = first_builds == 1 and second_builds == 0 and made[0] == made[1]
            failed |= not ok
            print(f"{recipe.label:24} first run: {first_builds} build(s), {first_s:6.1f} s   "
                  f"second run: {second_builds} build(s), {second_s:5.2f} s   {'ok' if ok else 'FAIL'}")
        finally:
            for tag in dict.fromkeys(made + [task_image]):
                client.images.remove(tag, force=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
