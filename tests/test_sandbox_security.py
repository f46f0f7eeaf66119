"""Hostile commands against real containers: each ends with a recorded outcome, the host unharmed.

Every container test runs on both engines (engine_kind: Docker, then Podman) with the same code."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import docker.errors
import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.errors import UserError
from corebench_runner.sandbox.docker.sandbox import DockerSandbox, container_config
from corebench_runner.sandbox.factory import gpu_decision
from corebench_runner.sandbox.gpu import CDI_ALL_GPUS
from support_docker import containers_of, engine, engine_kind, engine_of, require_image, spec, test_run_id  # noqa: F401

REPO = Path(__file__).resolve().parents[1]


def _sandbox(kind: str, run_id: str | None = None, workspace: Path | None = None, **changes) -> DockerSandbox:
    """A sandbox of the kind's engine, from the test image of that engine."""
    require_image(kind=kind)
    return DockerSandbox(spec(run_id, kind=kind, **changes), workspace=workspace, engine=engine_of(kind))


@pytest.mark.parametrize("bomb", [":(){ :|:& };:", "f(){ f | f; }; f"], ids=["background", "foreground"])
def test_fork_bomb_is_stopped_by_the_pids_limit_and_the_timeout(engine_kind, bomb):
    with _sandbox(engine_kind, pids_limit=64) as box:
        started = time.monotonic()
        result = box.exec(bomb, timeout=8)
        assert time.monotonic() - started < 30
        # It ends with its command's process group or at the latest at the timeout, recorded as such.
        assert result.timed_out or result.seconds < 8
        assert result.timed_out or not bomb.startswith("f(")
        assert bomb not in box.exec(["ps", "-eo", "args"], timeout=30).stdout  # nothing of it remains
        assert box.exec("echo alive", timeout=30).stdout == "alive\n"
    assert subprocess.run(["true"]).returncode == 0


def test_allocating_past_the_memory_limit_kills_the_process_not_the_host(engine_kind):
    with _sandbox(engine_kind, memory="256m") as box:
        # bash itself holds a gigabyte (the base image has no python): it is the process the OOM killer ends.
        result = box.exec('x="$(head -c 1073741824 /dev/zero | tr \'\\0\' x)"; echo survived', timeout=60)
        assert result.exit_code == 137 and not result.timed_out  # SIGKILL by the OOM killer
        assert "survived" not in result.stdout
        assert "out-of-memory killer" in result.stderr and "256m" in result.stderr
        assert "out-of-memory" not in box.exec("kill -KILL $$").stderr  # other kills are not called OOM
        assert box.exec("echo alive").stdout == "alive\n"


def test_printing_a_gigabyte_is_capped_without_the_host_holding_it(engine_kind):
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    with _sandbox(engine_kind, output_cap_bytes=1_000_000) as box:
        result = box.exec("head -c 1073741824 /dev/zero | tr '\\0' y", timeout=300)
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert result.exit_code == 0 and result.truncated and not result.timed_out
    assert 1_000_000 <= len(result.stdout) < 1_001_000
    assert "1073741824 bytes" in result.stdout
    assert (peak_after - peak_before) * 1024 < 200_000_000


def test_a_timed_out_command_that_escaped_its_process_group_is_killed_too(engine_kind):
    with _sandbox(engine_kind) as box:
        started = time.monotonic()
        result = box.exec("setsid sleep 300 & sleep 300", timeout=1)
        assert result.timed_out and time.monotonic() - started < 30
        assert "sleep 300" not in box.exec(["ps", "-eo", "args"]).stdout
        assert box.exec("echo alive").stdout == "alive\n"


def test_a_timed_out_command_whose_child_cleared_its_environment_and_left_is_killed_too(engine_kind):
    # No process group and no mark to go by: the child is an orphan born during the command.
    with _sandbox(engine_kind) as box:
        # Detached on purpose by an earlier command, which waits until it has its own session.
        box.exec("setsid sleep 400 </dev/null >/dev/null 2>&1 & child=$!; "
                 "until [ \"$(ps -o sid= -p $child | tr -d ' ')\" = $child ]; do sleep 0.05; done", timeout=30)
        result = box.exec("env -i setsid sleep 300 </dev/null >/dev/null 2>&1 & sleep 300", timeout=1)
        assert result.timed_out
        processes = box.exec(["ps", "-eo", "args"]).stdout
        assert "sleep 300" not in processes
        assert "sleep 400" in processes  # what an earlier command detached on purpose is left alone


def test_no_host_path_is_visible_inside(engine_kind, tmp_path: Path):
    marker = tmp_path / "host-only-marker.txt"
    marker.write_text("secret")
    with _sandbox(engine_kind) as box:
        attrs = engine(engine_kind).api.inspect_container(box.container.id)
        assert attrs["Mounts"] == [] and not attrs["HostConfig"]["Binds"]
        assert box.exec(["test", "-e", str(marker)]).exit_code == 1
        assert box.exec(["test", "-e", str(REPO / "pyproject.toml")]).exit_code == 1
        assert box.exec(["test", "-S", "/var/run/docker.sock"]).exit_code == 1


def test_no_host_environment_enters_the_container(engine_kind, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-must-not-leak")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-must-not-leak")
    with _sandbox(engine_kind, env={"TASK": "1"}) as box:
        config_env = engine(engine_kind).api.inspect_container(box.container.id)["Config"]["Env"]
        seen = box.exec("env; cat /proc/1/environ | tr '\\0' '\\n'").stdout + "\n".join(config_env)
    assert "must-not-leak" not in seen and "API_KEY" not in seen
    assert "TASK=1" in seen


def test_agent_user_is_unprivileged_and_files_are_its_own(engine_kind):
    with _sandbox(engine_kind, user="agent") as box:
        assert box.exec("id -u").stdout == "1000\n"
        assert box.exec("touch /etc/owned").exit_code != 0
        box.write_file("mine.txt", "x")
        assert box.exec("stat -c %U mine.txt && echo more >> mine.txt").stdout == "agent\n"


def test_a_workspace_handed_in_at_start_is_the_agent_users_own(engine_kind, tmp_path: Path):
    # The task runner hands the workspace in before the container starts (no setup round trips).
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "values.csv").write_text("x\n1\n")
    (tmp_path / "run.sh").write_text("echo ran\n")
    (tmp_path / "run.sh").chmod(0o755)
    with _sandbox(engine_kind, user="agent", workspace=tmp_path) as box:
        listing = box.exec("stat -c '%U %a %n' . data data/values.csv run.sh").stdout.split("\n")
        assert listing[:4] == ["agent 755 .", "agent 755 data", "agent 644 data/values.csv", "agent 755 run.sh"]
        assert box.exec("./run.sh && echo 2 >> data/values.csv && mkdir results").stdout == "ran\n"
        assert box.read_file("data/values.csv") == b"x\n1\n2\n"
        assert box.exec("touch /etc/owned").exit_code != 0  # the files are its own, the system is not


def test_containers_are_never_privileged_and_drop_capabilities(engine_kind):
    with _sandbox(engine_kind) as box:
        host_config = engine(engine_kind).api.inspect_container(box.container.id)["HostConfig"]
        assert host_config["Privileged"] is False
        assert "NET_RAW" in host_config["CapDrop"] and "no-new-privileges" in host_config["SecurityOpt"]
        assert host_config["PidsLimit"] == 256 and host_config["Memory"] == 512 * 1024 * 1024
        assert host_config["NanoCpus"] == 1_000_000_000
        assert box.exec("mknod /tmp/dev c 1 3").exit_code != 0  # MKNOD dropped, even for root


def test_network_none_has_no_network_and_bridge_reaches_debian(engine_kind):
    with _sandbox(engine_kind, network="none") as box:
        assert box.exec("curl -sS -m 5 -o /dev/null http://deb.debian.org/debian/", timeout=30).exit_code != 0
    with _sandbox(engine_kind) as box:
        assert box.exec("curl -sS -m 20 -o /dev/null http://deb.debian.org/debian/", timeout=60).exit_code == 0


def test_gpu_request_is_in_the_container_config(engine_kind):
    """Docker gets a device request for every GPU; Podman the CDI device, which its engine resolves."""
    require_image(kind=engine_kind)
    run_id = test_run_id()
    gpu = engine_of(engine_kind).gpu_config()
    container = engine_of(engine_kind).create_container(container_config(spec(run_id, kind=engine_kind, gpu=True),
                                                                         gpu=gpu))
    try:
        if engine_kind == "docker":
            requests = engine().api.inspect_container(container.id)["HostConfig"]["DeviceRequests"]
            assert requests and requests[0]["Count"] == -1 and requests[0]["Capabilities"] == [["gpu"]]
        else:
            assert gpu == {"devices": [CDI_ALL_GPUS]}
            # Made through Podman's own API, it keeps every limit the compatible API would have set.
            host_config = container.attrs["HostConfig"]
            assert host_config["Memory"] == host_config["MemorySwap"] == 512 * 1024 * 1024
            assert host_config["NanoCpus"] == 1_000_000_000 and host_config["PidsLimit"] == 256
            assert "NET_RAW" in host_config["CapDrop"] and "no-new-privileges" in host_config["SecurityOpt"]
            assert host_config["Privileged"] is False and container.attrs["Config"]["Labels"]["corebench.run"] == run_id
            with pytest.raises(docker.errors.APIError, match=f"CDI devices? {CDI_ALL_GPUS}"):
                container.start()  # this host has no CDI spec: Podman looked the name up, as a GPU host would
    finally:
        container.remove(force=True)
    assert container_config(spec(gpu=False), gpu=gpu).get("device_requests") is None
    assert container_config(spec(gpu=False), gpu=gpu).get("devices") is None


def test_gpu_request_on_a_host_without_gpu_is_a_clear_error(engine_kind):
    run_id = test_run_id()
    with pytest.raises(UserError, match="GPU"):
        _sandbox(engine_kind, run_id, gpu=True)
    assert containers_of(run_id, engine_kind) == []


@pytest.mark.parametrize("capsule_gpu, host, allow, expected", [
    ("none", False, False, (False, None)),
    ("required", True, False, (True, None)),
    ("optional", True, False, (True, None)),
    ("optional", False, True, (False, None)),
])
def test_gpu_decision_runs(capsule_gpu, host, allow, expected):
    assert gpu_decision(capsule_gpu, host, allow) == expected


@pytest.mark.parametrize("capsule_gpu, allow", [("required", False), ("required", True), ("optional", False)])
def test_gpu_decision_skips_with_a_reason(capsule_gpu, allow):
    use_gpu, reason = gpu_decision(capsule_gpu, False, allow)
    assert use_gpu is False and "GPU" in reason and "no" in reason


CHILD = textwrap.dedent("""
    import sys, time
    from corebench_runner.sandbox.base import SandboxSpec
    from corebench_runner.sandbox.factory import open_sandbox
    spec = SandboxSpec(image=sys.argv[1], labels={"corebench.run": sys.argv[2], "corebench.task": "1"})
    with open_sandbox(sys.argv[4], spec) as box:
        box.exec("true")
        print("started", flush=True)
        if sys.argv[3] == "crash":
            raise SystemExit("scaffold crashed")
        time.sleep(120)
""")


def _start_child(run_id: str, mode: str, kind: str) -> subprocess.Popen:
    require_image(kind=kind)
    child = subprocess.Popen([sys.executable, "-c", CHILD, spec(kind=kind).image, run_id, mode, kind],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert child.stdout.readline().strip() == "started", child.stderr.read()
    assert len(containers_of(run_id, kind)) == 1
    return child


def test_ctrl_c_removes_the_container(engine_kind):
    run_id = test_run_id()
    child = _start_child(run_id, "wait", engine_kind)
    child.send_signal(signal.SIGINT)
    child.wait(timeout=60)
    assert containers_of(run_id, engine_kind) == []


def test_a_crash_removes_the_container(engine_kind):
    run_id = test_run_id()
    child = _start_child(run_id, "crash", engine_kind)
    child.wait(timeout=60)
    assert child.returncode != 0
    assert containers_of(run_id, engine_kind) == []


def test_clean_removes_what_a_killed_process_left_and_says_so(engine_kind):
    run_id = test_run_id()
    child = _start_child(run_id, "wait", engine_kind)
    names = [c.name for c in containers_of(run_id, engine_kind)]
    # while its owner lives, clean leaves it alone
    assert "nothing to clean" in CliRunner().invoke(main, ["clean", "--run", run_id]).output
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert [c.name for c in containers_of(run_id, engine_kind)] == names  # SIGKILL leaves it behind
    dry = CliRunner().invoke(main, ["clean", "--run", run_id, "--dry-run"])
    assert f"would remove container {names[0]}" in dry.output and len(containers_of(run_id, engine_kind)) == 1
    result = CliRunner().invoke(main, ["clean", "--run", run_id])
    assert result.exit_code == 0
    assert f"removed container {names[0]}" in result.output and "removed 1 container(s)" in result.output
    assert containers_of(run_id, engine_kind) == []


def test_closing_from_another_thread_ends_a_running_command(engine_kind):
    """The run engine's watchdog closes a sandbox whose scaffold overran; the exec must return."""
    import threading

    run_id = test_run_id()
    box = _sandbox(engine_kind, run_id)
    results = []
    worker = threading.Thread(target=lambda: results.append(box.exec("sleep 120")))
    worker.start()
    time.sleep(1)
    started = time.monotonic()
    box.close()
    worker.join(timeout=30)
    assert not worker.is_alive() and time.monotonic() - started < 30
    assert results and results[0].exit_code != 0
    assert containers_of(run_id, engine_kind) == []


@pytest.mark.docker
def test_doctor_reports_a_ready_machine_and_a_bad_ca_bundle(tmp_path, monkeypatch):
    monkeypatch.setenv("COREBENCH_SETTINGS", str(tmp_path / "settings.toml"))
    ready = CliRunner().invoke(main, ["doctor"])
    assert ready.exit_code == 0, ready.output
    assert "ok    docker engine" in ready.output and "ok    base images" in ready.output
    assert ready.output.rstrip().endswith("ready")
    monkeypatch.setenv("COREBENCH_CA_BUNDLE", str(tmp_path / "gone.pem"))
    broken = CliRunner().invoke(main, ["doctor"])
    assert broken.exit_code == 2
    assert "FAIL  CA bundle" in broken.output and "gone.pem does not exist" in broken.output


def test_a_user_the_image_lacks_is_a_clear_error(engine_kind):
    run_id = test_run_id()
    with pytest.raises(UserError, match="has no user 'nobody-here'"):
        _sandbox(engine_kind, run_id, user="nobody-here")
    assert containers_of(run_id, engine_kind) == []
