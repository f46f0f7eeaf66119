"""Inside the container: the workspace's disk limit, the results copy-out cap, the task network's firewall.

Real containers on both engines (corebench/python:bookworm on Docker, corebench/base:bookworm on
Podman), real iptables, a real run for the disk limit (Docker).
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest
import tomli_w
from click.testing import CliRunner

from corebench_runner.sandbox.archive import extract_capped
from corebench_runner.sandbox.base import CopyTooLarge, SandboxSpec
from corebench_runner.sandbox.docker import firewall
from corebench_runner.sandbox.factory import open_sandbox
from support_capsules import good_capsule_doc, write_capsule
from support_docker import containers_of, engine, engine_kind, engine_of, require_image, spec, test_run_id  # noqa: F401

# `connect HOST PORT` prints "0 GREETING" when it connects, "111" when refused (ECONNREFUSED): bash alone,
# since the Podman suite's image has no python.
CONNECT = ("connect() { out=$( { exec 3<>/dev/tcp/$1/$2 && echo 0 $(timeout 5 head -c 5 <&3); } 2>&1 ); "
           "case $out in *refused*) echo 111;; *) echo \"$out\";; esac; }; connect")


class _Listener:
    """A TCP service on all of the host's addresses that greets whoever connects."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.sendall(b"hello")
            conn.close()

    def close(self) -> None:
        self.sock.close()


def _host_seen_from(sandbox) -> str:
    from corebench_runner.agents.cli_agents.session import host_address_seen_from

    return host_address_seen_from(sandbox)


def _chain_rules() -> str:
    return subprocess.run(["iptables", "-w", "10", "-S", firewall.CHAIN], capture_output=True, text=True).stdout


def test_a_host_listener_on_every_address_is_refused_but_the_tasks_relay_port_is_open(engine_kind):
    require_image(kind=engine_kind)
    service, relay = _Listener(), _Listener()
    run_id = test_run_id()
    try:
        with open_sandbox(engine_kind, spec(run_id, kind=engine_kind)) as sandbox:
            host = _host_seen_from(sandbox)
            for address in (host, _public_address()):
                refused = sandbox.exec(f"{CONNECT} {address} {service.port}", timeout=30)
                assert refused.stdout.split()[0] == "111", (address, refused.stdout, refused.stderr)
            sandbox.allow_host_port(relay.port)
            assert f"--dport {relay.port} -j ACCEPT" in _chain_rules()
            reached = sandbox.exec(f"{CONNECT} {host} {relay.port}", timeout=30)
            assert reached.stdout.split() == ["0", "hello"], reached.stdout + reached.stderr
            still_refused = sandbox.exec(f"{CONNECT} {host} {service.port}", timeout=30)
            assert still_refused.stdout.split()[0] == "111"
        assert f"--dport {relay.port} -j ACCEPT" not in _chain_rules()  # removed with the sandbox
        assert containers_of(run_id, engine_kind) == []
    finally:
        service.close()
        relay.close()


def _public_address() -> str:
    """The host's own address on its outside network (not the bridge's)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
        return probe.getsockname()[0]
    finally:
        probe.close()


def test_task_containers_still_reach_the_internet(engine_kind):
    require_image(kind=engine_kind)
    import urllib.request

    try:
        urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=20).close()
    except OSError:
        pytest.skip("this host itself cannot reach pypi.org")
    with open_sandbox(engine_kind, spec(kind=engine_kind)) as sandbox:
        got = sandbox.exec("curl -sS -o /dev/null -w '%{http_code}' --max-time 30 https://pypi.org/simple/pip/",
                           timeout=60)
    assert got.stdout == "200", got.stdout + got.stderr


def test_without_iptables_the_run_says_so_once_and_its_containers_still_start(engine_kind, tmp_path):
    require_image(kind=engine_kind)
    script = (
        "from corebench_runner.sandbox.factory import open_sandbox\n"
        "from support_docker import spec\n"
        "for _ in range(2):\n"
        f"    with open_sandbox({engine_kind!r}, spec(kind={engine_kind!r})) as sandbox:\n"
        "        print(sandbox.exec('echo up').stdout.strip())\n")
    env = {**os.environ, "PATH": "/usr/local/bin:/usr/bin:/bin",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), *sys.path])}
    assert subprocess.run(["which", "iptables"], env=env, capture_output=True).returncode != 0
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["up", "up"]
    said = [line for line in done.stderr.splitlines() if "firewall could not be installed" in line]
    assert len(said) == 1 and "iptables is not installed" in said[0], done.stderr


# ---------------------------------------------------------------- the results copy-out cap

def test_results_past_the_cap_stop_the_copy_early_and_keep_nothing(engine_kind, tmp_path):
    require_image(kind=engine_kind)
    with open_sandbox(engine_kind, spec(kind=engine_kind)) as sandbox:
        sandbox.exec("mkdir -p results && for n in 1 2 3 4 5 6; do head -c 40000000 /dev/urandom > results/part$n; done",
                     timeout=120)
        read = 0

        def counted():
            nonlocal read
            chunks, _ = sandbox.container.get_archive("/workspace/results")
            for chunk in chunks:
                read += len(chunk)
                yield chunk

        with pytest.raises(CopyTooLarge, match="more than 50000000 bytes"):
            extract_capped(counted(), tmp_path, 50_000_000, "/workspace/results")
        assert read < 100_000_000  # of 240 MB: the stream was stopped, not read to the end
        assert list(tmp_path.iterdir()) == []

        with pytest.raises(CopyTooLarge):
            sandbox.copy_out("results", tmp_path / "capped", max_bytes=50_000_000)
        assert list((tmp_path / "capped").iterdir()) == []
        sandbox.copy_out("results", tmp_path / "whole", max_bytes=300_000_000)
        assert sorted(p.name for p in (tmp_path / "whole" / "results").iterdir()) == [f"part{n}" for n in range(1, 7)]


def test_the_engine_drops_results_over_its_cap_and_says_so(tmp_path, monkeypatch):
    from corebench_runner.running import outputs as task_outputs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sandbox = open_sandbox("local", SandboxSpec(image="none"))
    with sandbox:
        results = Path(sandbox.workdir) / "results"
        results.mkdir()
        (results / "big.bin").write_bytes(b"x" * 3000)
        monkeypatch.setattr(task_outputs, "MAX_RESULTS_BYTES", 2000)
        details: dict = {}
        (tmp_path / "t").mkdir()
        assert task_outputs._collect_results(sandbox, str(results), tmp_path / "t", details) is None
        assert "over the 2000 byte cap" in details["results_dropped"]
        assert not (tmp_path / "t" / "produced" / "results").exists()


# ---------------------------------------------------------------- the workspace's disk limit

FILL = "dd if=/dev/zero of=fill.bin bs=1M count=5000 status=none; echo wrote"


@pytest.mark.docker
def test_an_agent_writing_5_gb_into_its_workspace_is_stopped_as_budget_exceeded(tmp_path):
    """A real run: core-agent, a scripted model whose first command writes 5 GB, a 300 MB limit."""
    from corebench_runner.cli import main

    require_image("corebench/python-r:bookworm")
    doc = good_capsule_doc("filler")
    doc["resources"] = {**doc["resources"], "disk": "300m"}
    folder = write_capsule(tmp_path / "suite" / "capsules", "filler")
    (folder / "capsule.toml").write_text(tomli_w.dumps(doc))
    steps = [{"content": [{"type": "tool_use", "name": "bash", "input": {"command": FILL}}]},
             {"content": [{"type": "tool_use", "name": "bash", "input": {"command": "echo still here"}}]},
             {"content": [{"type": "text", "text": "done"}]}]
    script = tmp_path / "fill.session.json"
    script.write_text(json.dumps({"model": "claude-haiku-4-5", "steps": steps}))
    store = str(tmp_path / "results.sqlite")
    started = time.monotonic()
    result = CliRunner().invoke(main, ["--suite", str(tmp_path / "suite"), "run", "--model", f"scripted:{script}",
                                       "--scaffold", "core-agent", "--capsules", "filler", "--level", "hard",
                                       "--quiet", "--store", store])
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 120
    run_id = json.loads(CliRunner().invoke(main, ["runs", "--json", "--store", store]).output)[0]["id"]
    task = json.loads(CliRunner().invoke(main, ["show", run_id, "--json", "--store", store]).output)["tasks"][0]
    assert task["outcome"] == "budget_exceeded", task
    assert "disk limit" in task["error"] and "300m" in task["error"] and "resources.disk" in task["error"], task
    transcripts = [p for p in tmp_path.rglob("transcript.json") if p.as_posix().endswith(task["transcript_path"])]
    events = json.loads(transcripts[0].read_text())
    fill = next(e for e in events if e.get("type") == "tool_call")
    assert "wrote" not in fill["output"] and "passed its disk limit of 300m" in fill["output"], fill
    assert not any(e.get("type") == "tool_call" and "still here" in json.dumps(e.get("input")) for e in events)


def test_relay_rules_a_killed_run_left_are_pruned_and_a_live_tasks_rule_is_kept(engine_kind):
    from corebench_runner.sandbox.docker.leftovers import remove_leftovers

    require_image(kind=engine_kind)
    with open_sandbox(engine_kind, spec(kind=engine_kind)) as sandbox:
        sandbox.allow_host_port(4242)
        attrs = engine(engine_kind).networks.get(firewall.TASK_NETWORK).attrs
        subnet = ipaddress.ip_network(attrs["IPAM"]["Config"][0]["Subnet"])
        taken = {c["IPv4Address"].split("/")[0] for c in (attrs.get("Containers") or {}).values()}
        # On the task network, but no container has it (Podman hands addresses out in turn, up to the top).
        gone = next(str(a) for a in reversed(list(subnet.hosts())) if str(a) not in taken)
        left_behind = engine_of(engine_kind).network.allow(gone, 4343)
        assert left_behind is not None and "--dport 4343 -j" in _chain_rules()
        remove_leftovers(run_id=test_run_id(), engine=engine_of(engine_kind))  # what `corebench clean` runs
        assert "--dport 4343 -j" not in _chain_rules()
        assert "--dport 4242 -j" in _chain_rules()
    assert "--dport 4242 -j" not in _chain_rules()


def test_writing_outside_the_workspace_counts_too_and_the_fallback_measures_the_workspace(engine_kind):
    from corebench_runner.deadline import Deadline
    from corebench_runner.records import Outcome
    from corebench_runner.sandbox.docker.disk_guard import usage_measure

    require_image(kind=engine_kind)
    deadline = Deadline.after(600)
    with open_sandbox(engine_kind, spec(kind=engine_kind, disk="200m"), deadline) as sandbox:
        filled = sandbox.exec("dd if=/dev/zero of=/tmp/fill.bin bs=1M count=5000 status=none; echo wrote", timeout=120)
        assert filled.exit_code == 137 and "wrote" not in filled.stdout
        assert "passed its disk limit of 200m" in filled.stderr
        reason, outcome = deadline.stopped
        assert outcome is Outcome.BUDGET_EXCEEDED and "written in the container" in reason and "200m" in reason

        # Where the engine's files cannot be read (not root, a remote engine): the workspace, from inside.
        measure, scope = usage_measure({}, sandbox.workdir, sandbox._du_in_container)
        sandbox.exec("head -c 20000000 /dev/zero > in-workspace.bin")
        assert scope == f"in {sandbox.workdir}" and 19_000_000 < measure() < 40_000_000


@pytest.mark.docker
@pytest.mark.podman
def test_one_engines_cleanup_leaves_the_other_engines_live_relay_rules_alone():
    """Both engines' task networks share the host's chain: each prunes only addresses of its own network."""
    from corebench_runner.sandbox.docker.engine import Engine
    from corebench_runner.sandbox.docker.leftovers import remove_leftovers
    from corebench_runner.sandbox.podman.engine import PodmanEngine

    require_image(kind="docker")
    require_image(kind="podman")
    with open_sandbox("docker", spec()) as on_docker, open_sandbox("podman", spec(kind="podman")) as on_podman:
        on_docker.allow_host_port(4545)
        on_podman.allow_host_port(4646)
        # As `corebench clean` in a process of its own: engines whose task networks it never opened.
        remove_leftovers(run_id=test_run_id(), engine=PodmanEngine())
        remove_leftovers(run_id=test_run_id(), engine=Engine())
        assert "--dport 4545 -j" in _chain_rules() and "--dport 4646 -j" in _chain_rules()
    assert "--dport 4545 -j" not in _chain_rules() and "--dport 4646 -j" not in _chain_rules()
