"""`corebench clean` on a Docker engine several hosts share (a remote DOCKER_HOST, a mounted socket):
another host's containers may belong to a run that still goes on there, which cannot be checked from
here, so they stay unless the user asks for them to go. Real containers, labelled as another host's."""

from __future__ import annotations

import os
import socket
import subprocess

import docker
import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.sandbox.labels import MANAGED_LABEL, OWNER_HOST_LABEL, OWNER_PID_LABEL, RUN_LABEL
from corebench_runner.sandbox.providers import provider_for
from support_docker import TEST_IMAGE, containers_of, engine, require_image, test_run_id

OTHER_HOST = "build-node-7"


def _left(run_id: str, name: str, host: str, pid: str):
    """A container as a corebench process on `host` with `pid` leaves it (created, not started: cheap)."""
    return engine().containers.create(TEST_IMAGE, ["sleep", "infinity"], name=f"corebench-{run_id}-{name}",
                                      labels={MANAGED_LABEL: "1", RUN_LABEL: run_id, OWNER_HOST_LABEL: host,
                                              OWNER_PID_LABEL: pid})


def _remove(containers: list) -> None:
    for container in containers:
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            pass


def _names(run_id: str) -> set[str]:
    return {c.name for c in containers_of(run_id)}


@pytest.mark.docker
def test_clean_leaves_other_hosts_containers_alone_unless_asked():
    require_image()
    run_id = test_run_id()
    made = [_left(run_id, "other-host", OTHER_HOST, "4242"),  # whether pid 4242 lives there, nobody here knows
            _left(run_id, "killed-here", socket.gethostname(), "999999999"),  # no such process: a leftover
            _left(run_id, "live-here", socket.gethostname(), str(os.getpid()))]  # this test is its owner
    other, killed, live = (c.name for c in made)
    runner = CliRunner()
    try:
        dry = runner.invoke(main, ["clean", "--run", run_id, "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert f"would remove container {killed}" in dry.output
        assert f"would remove container {other}" not in dry.output and _names(run_id) == {other, killed, live}

        cleaned = runner.invoke(main, ["clean", "--run", run_id])
        assert cleaned.exit_code == 0, cleaned.output
        assert _names(run_id) == {other, live}
        assert f"removed container {killed}" in cleaned.output and "removed 1 container(s)" in cleaned.output
        assert (f"kept 1 container(s) started from other hosts, whose runs may still go on: {other} (from "
                f"{OTHER_HOST}); --include-other-hosts removes them") in cleaned.output

        asked = runner.invoke(main, ["clean", "--run", run_id, "--include-other-hosts"])
        assert asked.exit_code == 0, asked.output
        assert f"removed container {other}" in asked.output
        assert _names(run_id) == {live}  # a live owner on this host still keeps its own
    finally:
        _remove(made)
    assert containers_of(run_id) == []


@pytest.mark.docker
def test_a_process_whose_run_was_taken_over_removes_its_own_containers_and_not_the_new_owners():
    # A driver that wakes to find its run resumed by another process (running/run.py, RunTakenOver).
    require_image()
    run_id = test_run_id()
    new_owner = subprocess.Popen(["sleep", "120"])  # the live process that resumed the run on this host
    made = [_left(run_id, "mine", socket.gethostname(), str(os.getpid())),
            _left(run_id, "new-owners", socket.gethostname(), str(new_owner.pid)),
            _left(run_id, "other-host", OTHER_HOST, "4242")]
    mine, new_owners, other = (c.name for c in made)
    try:
        removed = provider_for("docker").cleanup(run_id, only_this_process=True).removed
        assert removed == [mine]
        assert _names(run_id) == {new_owners, other}
    finally:
        new_owner.kill()
        new_owner.wait()
        _remove(made)
    assert containers_of(run_id) == []


def test_the_option_is_documented_in_the_help():
    shown = CliRunner().invoke(main, ["clean", "--help"]).output
    assert "--include-other-hosts" in shown and "other hosts" in shown
