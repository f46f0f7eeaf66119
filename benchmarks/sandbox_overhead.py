"""What our sandbox costs over the docker command line, and what a warm image cache saves.

    .venv/bin/python benchmarks/sandbox_overhead.py [--rounds 3] [--execs 20]

1. create + N execs + remove, through DockerSandbox and through `docker run` / `docker exec` /
   `docker rm` on the command line, alternating, same image and limits; prints medians and the
   ratio (goal: <= 1.2).
2. Preparing a capsule's environment image cold (built) and warm (cached by content hash); the
   warm call must build nothing.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from corebench_runner.capsules.format import Capsule
from corebench_runner.images import BASE_IMAGES, environment_image, environment_tag
from corebench_runner.sandbox.base import SandboxSpec
from corebench_runner.sandbox.docker.engine import docker_client
from corebench_runner.sandbox.docker.sandbox import DockerSandbox

IMAGE = BASE_IMAGES["python"].tag
COMMAND = "echo hello"


def through_sandbox(execs: int) -> float:
    started = time.perf_counter()
    spec = SandboxSpec(image=IMAGE, cpus=1.0, memory="1g", labels={"corebench.run": "benchmark"})
    with DockerSandbox(spec) as box:
        for _ in range(execs):
            assert box.exec(COMMAND).stdout == "hello\n"
    return time.perf_counter() - started


def through_cli(execs: int) -> float:
    name = f"corebench-bench-{secrets.token_hex(3)}"
    started = time.perf_counter()
    subprocess.run(["docker", "run", "-d", "--init", "--name", name, "--cpus", "1", "--memory", "1g",
                    "--label", "corebench.managed=1", IMAGE, "sleep", "infinity"], check=True, capture_output=True)
    try:
        for _ in range(execs):
            out = subprocess.run(["docker", "exec", "-w", "/workspace", name, "bash", "-lc", COMMAND],
                                 check=True, capture_output=True, text=True).stdout
            assert out == "hello\n"
    finally:
        subprocess.run(["docker", "rm", "-f", name], check=True, capture_output=True)
    return time.perf_counter() - started


def image_cache(tmp: Path) -> tuple[float, float, bool]:
    folder = tmp / "bench-capsule"
    (folder / "environment").mkdir(parents=True)
    (folder / "environment" / "requirements.txt").write_text(f"# {secrets.token_hex(8)}\n")
    (folder / "environment" / "Dockerfile").write_text(
        f"FROM {BASE_IMAGES['python'].tag}\nCOPY requirements.txt /opt/\nRUN python3 -c 'import numpy' && touch /opt/ready\n")
    capsule = Capsule(id="bench-capsule", title="benchmark", path=folder, field="", language="Python", gpu="none",
                      task_prompt="", questions=())
    log_dir = tmp / "log"
    started = time.perf_counter()
    tag = environment_image(capsule, log_dir=log_dir)
    cold = time.perf_counter() - started
    built_at = (log_dir / "build.log").stat().st_mtime_ns
    started = time.perf_counter()
    assert environment_image(capsule, log_dir=log_dir) == tag == environment_tag(capsule)
    warm = time.perf_counter() - started
    rebuilt = (log_dir / "build.log").stat().st_mtime_ns != built_at
    docker_client().images.remove(tag, force=True)
    return cold, warm, rebuilt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of each way (median reported)")
    parser.add_argument("--execs", type=int, default=20, help="execs per sandbox")
    args = parser.parse_args()
    if shutil.which("docker") is None:
        raise SystemExit("the docker command line is needed for the comparison")
    through_sandbox(1), through_cli(1)  # warm both paths (imports, page cache)
    ours, cli = [], []
    for _ in range(args.rounds):
        ours.append(through_sandbox(args.execs))
        cli.append(through_cli(args.execs))
    ours_s, cli_s = statistics.median(ours), statistics.median(cli)
    print(f"create + {args.execs} execs + remove, median of {args.rounds}:")
    print(f"  corebench DockerSandbox   {ours_s:7.2f} s")
    print(f"  docker run/exec/rm (CLI)  {cli_s:7.2f} s")
    print(f"  ratio ours / CLI          {ours_s / cli_s:7.2f}x   (goal <= 1.2x)")
    with tempfile.TemporaryDirectory() as tmp:
        cold, warm, rebuilt = image_cache(Path(tmp))
    print("preparing a capsule's environment image:")
    print(f"  cold (built)              {cold:7.2f} s")
    print(f"  warm (cached by hash)     {warm:7.2f} s   built again: {'YES (bug)' if rebuilt else 'no'}")
    print(f"  ratio warm / cold         {warm / cold:7.3f}x")


if __name__ == "__main__":
    main()
