"""`corebench doctor` (is this machine ready?) and `corebench clean` (remove what a killed run left)."""

from __future__ import annotations

import shutil
from pathlib import Path

import click
import platformdirs

from corebench_runner.errors import UserError
from corebench_runner.images import BASE_IMAGES
from corebench_runner.running.folders import dead_task_folders
from corebench_runner.settings import APP_NAME, legacy_settings_file, load_settings, settings_file

MIN_FREE_GB = 20


def _doctor_store(path: Path) -> None:
    """Every problem of a store, one a line (the refusal of a damaged store names only the first)."""
    import sqlite3

    from corebench_runner.store.health import no_leftovers, recovery_hint, store_failure, store_problems

    if not path.is_file():
        raise UserError(f"{path}: no such store; give the path of a results store (--store)")
    try:
        with no_leftovers(path):  # raised inside, so the -wal and -shm this check made go with it
            problems = store_problems(path)
            for problem in problems:
                click.echo(f"FAIL  {path}: {problem}")
            if problems:
                raise UserError(f"{len(problems)} problem(s) in {path}; {recovery_hint(path)}")
    except sqlite3.DatabaseError as exc:
        raise UserError(store_failure(path, exc)) from None
    click.echo(f"ok    {path}: intact")


class _Checklist:
    def __init__(self) -> None:
        self.problems = 0

    def ok(self, what: str) -> None:
        click.echo(f"ok    {what}")

    def warn(self, what: str, fix: str) -> None:
        click.echo(f"warn  {what}: {fix}")

    def fail(self, what: str, fix: str) -> None:
        self.problems += 1
        click.echo(f"FAIL  {what}: {fix}")


@click.command("doctor")
@click.option("--store", "store", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Check only this results store, read-only, and list every problem SQLite finds in it.")
def doctor(store: Path | None) -> None:
    """Check the engines (Docker, Podman), disk space, base images, GPU support and settings; say what to fix."""
    if store is not None:
        return _doctor_store(store)
    checks = _Checklist()
    settings = load_settings()
    click.echo(f"settings: {settings_file()}{'' if settings_file().is_file() else ' (not present; defaults)'}")
    if settings_file() == legacy_settings_file():
        checks.warn(f"settings read from the old place {legacy_settings_file()}",
                    f"move it to {Path(platformdirs.user_config_dir(APP_NAME)) / 'settings.toml'}")
    try:
        from corebench_runner.sandbox.docker.engine import docker_client

        client = docker_client()
        info = client.info()
    except UserError:
        from corebench_runner.sandbox.docker.engine import engine_fix, engine_not_answering

        checks.fail(engine_not_answering(), engine_fix())
        client = info = None
    if client is not None:
        checks.ok(f"docker engine {info.get('ServerVersion', '?')} ({info.get('CgroupDriver', '?')}, "
                  f"cgroup v{info.get('CgroupVersion', '?')})")
        root = Path(info.get("DockerRootDir") or "/var/lib/docker")
        free_gb = shutil.disk_usage(root if root.exists() else "/").free / 1e9
        if free_gb < MIN_FREE_GB:
            checks.fail(f"disk: {free_gb:.0f} GB free under {root}",
                        f"images and tasks need ~{MIN_FREE_GB} GB; free space or run `corebench images prune`")
        else:
            checks.ok(f"disk: {free_gb:.0f} GB free under {root}")
        present = {t for img in client.images.list() for t in img.tags}
        missing = [b.tag for b in BASE_IMAGES.values() if b.tag not in present]
        if missing:
            checks.fail(f"base images missing: {', '.join(missing)}", "run `corebench images build-base`")
        else:
            checks.ok(f"base images: {', '.join(b.tag for b in BASE_IMAGES.values())}")
        from corebench_runner.agents.cli_agents.health import agent_checks

        for check in agent_checks():  # native agent binaries cached, agent layers built
            if check.level == "warn":
                checks.warn(check.what, check.fix)
            else:
                checks.ok(check.what)
        leftovers = client.containers.list(all=True, filters={"label": "corebench.managed=1"})
        if leftovers:
            checks.warn(f"{len(leftovers)} corebench container(s) exist", "if no run is going on, `corebench clean` removes them")
    _podman_check(checks)
    if shutil.which("debootstrap"):
        checks.ok("debootstrap installed (base images can be built without a registry)")
    else:
        checks.warn("debootstrap missing", "`apt-get install debootstrap` to build base images (or use --from-registry)")
    _gpu_check(checks)
    _ray_check(checks)
    try:
        if settings.ca_bundle_bytes() is None:
            checks.warn("CA bundle: none set", "behind a TLS-intercepting proxy pip and R installs fail; "
                                               "set $COREBENCH_CA_BUNDLE")
        else:
            checks.ok(f"CA bundle: {settings.ca_bundle}")
    except UserError as exc:
        checks.fail("CA bundle", exc.message)
    if checks.problems:
        raise UserError(f"{checks.problems} problem(s) found; fix them as said above, then run `corebench doctor` again")
    click.echo("ready")


def _podman_check(checks: _Checklist) -> None:
    """Whether --sandbox podman can run here: Podman installed, its service started, a container started."""
    from corebench_runner.images.engine import short_tag
    from corebench_runner.sandbox.podman.engine import PODMAN

    if not PODMAN.installed():
        checks.warn("podman: not installed", "only needed for --sandbox podman: `apt-get install podman catatonit` "
                                             "(scripts/setup.sh does)")
        return
    try:
        client = PODMAN.client()
        version = client.version().get("Version", "?")
        present = {short_tag(t) for img in client.images.list() for t in img.tags}
    except UserError as exc:
        checks.warn("podman: its service does not answer", exc.message)
        return
    bases = [b.tag for b in BASE_IMAGES.values() if b.tag in present]
    if not bases:
        checks.warn(f"podman {version} ({PODMAN.mode()}): no base images",
                    "run `corebench images build-base --sandbox podman` (it imports the root filesystem debootstrap "
                    "made for Docker when there is one)")
        return
    problem = PODMAN.container_problem(bases[0])
    limits = PODMAN.limits_problem(client)
    if limits:
        checks.warn(f"podman {version} ({PODMAN.mode()}): limits", limits)
    if problem:
        checks.warn(f"podman {version} ({PODMAN.mode()}): cannot start a container", problem)
    else:
        checks.ok(f"podman {version} ({PODMAN.mode()}): --sandbox podman can run; base images: {', '.join(bases)}")


def _gpu_check(checks: _Checklist) -> None:
    """One line on GPUs: which engines can hand the host's GPU in (sandbox/gpu.py's policy)."""
    from corebench_runner.sandbox.gpu import host_has_gpu, nvidia_gpu_listed

    ready = [kind for kind, how in (("docker", "nvidia runtime"), ("podman", "CDI")) if host_has_gpu(kind)]
    if ready:
        checks.ok(f"GPU: an NVIDIA GPU, handed in by {', '.join(ready)}")
    elif nvidia_gpu_listed():
        checks.warn("GPU: nvidia-smi lists a GPU that no engine can hand in",
                    "install nvidia-container-toolkit (Docker: its nvidia runtime; Podman: "
                    "`nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml`)")
    else:
        checks.warn("GPU: none usable", "capsules with gpu = \"required\" are skipped; \"optional\" ones run with --allow-no-gpu")


def _ray_check(checks: _Checklist) -> None:
    """Whether --executor ray can run here, and where Ray's own log lines go (they never reach the terminal)."""
    from importlib.metadata import PackageNotFoundError, version

    from corebench_runner.executors.ray_executor import RAY_SESSION_LOGS, ray_log_path

    try:
        checks.ok(f"ray {version('ray')}: --executor ray logs Ray's lines to {ray_log_path()}; each node's own "
                  f"logs are in {RAY_SESSION_LOGS}")
    except PackageNotFoundError:
        checks.warn("ray not installed", "only needed for --executor ray: pip install 'corebench-runner[ray]'")


@click.command("clean")
@click.option("--run", "run_id", metavar="RUN_ID", help="Only remove containers of this run.")
@click.option("--dry-run", is_flag=True, help="List what would be removed, remove nothing.")
@click.option("--include-live", is_flag=True,
              help="Also remove containers whose owning corebench process is still running on this host.")
@click.option("--include-other-hosts", is_flag=True,
              help="Also remove containers started from other hosts that share this Docker engine (a remote "
                   "DOCKER_HOST, a mounted socket). Whether their runs still go on cannot be checked from here: "
                   "use it only when none does.")
def clean(run_id: str | None, dry_run: bool, include_live: bool, include_other_hosts: bool) -> None:
    """Remove containers, task scratch folders and build scratch left behind by killed runs.

    Containers (found by their labels) whose owning process still runs on this host are kept unless
    --include-live, and containers started from other hosts are kept unless --include-other-hosts;
    task folders (/tmp/corebench-task-PID-*) of a process still running always are.
    """
    from corebench_runner.sandbox.providers import SANDBOX_KINDS, provider_for

    names: list[str] = []
    elsewhere: list[str] = []
    for kind in SANDBOX_KINDS:
        try:
            found = provider_for(kind).cleanup(run_id, include_live, include_other_hosts, dry_run=dry_run)
        except UserError as exc:  # one engine down must not keep the others' leftovers
            click.echo(f"warning: {kind} sandboxes not checked: {exc.message}", err=True)
            continue
        names += found.removed
        elsewhere += found.other_hosts
    for name in names:
        click.echo(f"{'would remove' if dry_run else 'removed'} container {name}")
    scratch = sorted((Path(load_settings().build_dir) / "base" / "bootstrap").glob("corebench-rootfs-*"))
    scratch += [Path(folder) for folder in dead_task_folders()]
    for folder in scratch:
        click.echo(f"{'would remove' if dry_run else 'removed'} scratch folder {folder}")
        if not dry_run:
            shutil.rmtree(folder, ignore_errors=True)
    if elsewhere:
        shown = ", ".join(elsewhere[:5]) + (f" and {len(elsewhere) - 5} more" if len(elsewhere) > 5 else "")
        click.echo(f"kept {len(elsewhere)} container(s) started from other hosts, whose runs may still go on: "
                   f"{shown}; --include-other-hosts removes them")
    if not names and not scratch:
        click.echo("nothing to clean")
    else:
        click.echo(f"{'would remove' if dry_run else 'removed'} {len(names)} container(s), {len(scratch)} scratch folder(s)")
