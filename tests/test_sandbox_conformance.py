"""One set of behaviours every sandbox must show, run against each kind of the registry alike (Docker,
Podman, local), and against a Docker and a Podman sandbox as the provider opens it for a task
(started in the background)."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest

from corebench_runner.sandbox.background import BackgroundSandbox
from corebench_runner.sandbox.base import Sandbox
from corebench_runner.sandbox.factory import open_sandbox
from corebench_runner.sandbox.providers import SANDBOX_KINDS, provider_for
from support_docker import containers_of, engine_kind, require_image, spec, test_run_id  # noqa: F401  (a fixture)

KINDS = [pytest.param("docker", marks=pytest.mark.docker), pytest.param("podman", marks=pytest.mark.podman), "local",
         pytest.param("background", marks=pytest.mark.docker),
         pytest.param("podman-background", marks=pytest.mark.podman)]
ENGINE_OF = {"docker": "docker", "background": "docker", "podman": "podman", "podman-background": "podman"}


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param


def start(kind: str, **changes) -> Sandbox:
    if kind in ("docker", "podman"):
        require_image(kind=kind)
        return open_sandbox(kind, spec(kind=kind, **changes))
    if kind in ("background", "podman-background"):
        engine = ENGINE_OF[kind]
        require_image(kind=engine)
        opened = provider_for(engine).open(spec(kind=engine, **changes))  # what a task's scaffold is handed
        assert isinstance(opened, BackgroundSandbox)
        return opened
    with pytest.warns(UserWarning, match="not a sandbox"):
        return open_sandbox("local", spec(**changes))


def test_every_kind_of_the_registry_is_tested_here():
    assert set(SANDBOX_KINDS) <= {p if isinstance(p, str) else p.values[0] for p in KINDS}


@pytest.fixture
def sandbox(kind):
    with start(kind) as box:
        yield box


def test_is_a_sandbox(sandbox):
    assert isinstance(sandbox, Sandbox)


def test_shell_command_gives_output_and_exit_code(sandbox):
    result = sandbox.exec("echo out; echo err >&2; exit 3")
    assert (result.exit_code, result.stdout, result.stderr, result.timed_out) == (3, "out\n", "err\n", False)
    code, out, err, timed_out = sandbox.exec(["printf", "%s|", "a b", "c"])
    assert (code, out, timed_out) == (0, "a b|c|", False)


def test_output_is_heard_as_it_comes_not_only_at_the_end(sandbox):
    """An agent CLI's stream is timed line by line as it is read (agents/cli_agents/session.py)."""
    heard: list[tuple[float, bytes]] = []
    started = time.monotonic()
    result = sandbox.exec("echo first; sleep 1; echo second", timeout=30,
                          on_stdout=lambda chunk: heard.append((time.monotonic() - started, chunk)))
    assert result.stdout == "first\nsecond\n"
    assert b"".join(chunk for _, chunk in heard) == b"first\nsecond\n"
    first = next(when for when, chunk in heard if b"first" in chunk)
    second = next(when for when, chunk in heard if b"second" in chunk)
    assert second - first >= 0.8  # the first line was heard before the command slept, not with the second


def test_commands_start_in_the_workdir(sandbox):
    sandbox.write_file("note.txt", "here")
    assert sandbox.exec("pwd").stdout.strip() == sandbox.workdir
    assert sandbox.exec("cat note.txt").stdout == "here"
    sandbox.write_file("sub/inner.txt", "x")
    assert sandbox.exec("pwd", workdir=f"{sandbox.workdir}/sub").stdout.strip() == f"{sandbox.workdir}/sub"


def test_missing_program_is_an_exit_code_not_an_exception(sandbox):
    result = sandbox.exec(["no-such-program-here"])
    assert result.exit_code != 0 and not result.timed_out


def test_timeout_kills_the_whole_process_tree(sandbox):
    started = time.monotonic()
    result = sandbox.exec("(sleep 3; echo late > late.txt) & sleep 60", timeout=1)
    assert result.timed_out
    assert time.monotonic() - started < 10
    time.sleep(3.5)  # the background child would have written by now had it survived
    assert sandbox.exec("test -e late.txt").exit_code == 1
    assert not sandbox.exec("echo still usable", timeout=10).timed_out


def test_a_timed_out_command_does_not_carry_on_after_its_child_is_killed(sandbox):
    # The shell must not get to run its next line when the sleep it waits on is killed first.
    result = sandbox.exec("sleep 60; echo carried on; echo carried on >&2", timeout=1)
    assert result.timed_out and result.exit_code != 0
    assert "carried on" not in result.stdout + result.stderr
    assert "Killed" not in result.stderr  # no notice of the wrapper's own in the command's stderr


def test_fast_commands_under_a_time_limit_keep_exactly_their_own_stderr(sandbox):
    # Each exec under a limit starts a guard beside the command; it must neither outlive the
    # command nor write anything into its output, however quickly the command ends.
    started = time.monotonic()
    for attempt in range(40):
        result = sandbox.exec(["bash", "-c", "echo failed >&2; exit 1"], timeout=30)
        assert (result.exit_code, result.stdout, result.stderr) == (1, "", "failed\n"), attempt
    assert time.monotonic() - started < 60


def test_output_beyond_the_cap_is_dropped_and_recorded(kind):
    with start(kind, output_cap_bytes=1000) as box:
        result = box.exec("head -c 5000000 /dev/zero | tr '\\0' x; echo done >&2")
    assert result.exit_code == 0 and result.truncated
    assert result.stdout.startswith("x" * 1000)
    assert len(result.stdout) < 1200  # the kept bytes plus one line saying how much was dropped
    assert "5000000" in result.stdout and result.stderr == "done\n"


def test_binary_files_round_trip(sandbox):
    data = bytes(range(256)) * 100
    sandbox.write_file("figs/plot.png", data)
    assert sandbox.read_file("figs/plot.png") == data
    assert sandbox.read_file(f"{sandbox.workdir}/figs/plot.png") == data
    assert sandbox.exec("wc -c < figs/plot.png").stdout.strip() == "25600"
    sandbox.write_file("text.txt", "héllo\n")
    assert sandbox.read_file("text.txt").decode() == "héllo\n"


def test_reading_a_missing_file_raises_file_not_found(sandbox):
    with pytest.raises(FileNotFoundError):
        sandbox.read_file("nope/missing.txt")


def test_files_written_inside_are_readable_outside(sandbox):
    sandbox.exec("mkdir -p results && printf 'a,b\\n1,2\\n' > results/table.csv")
    assert sandbox.read_file("results/table.csv") == b"a,b\n1,2\n"


def test_copy_in_and_copy_out(sandbox, tmp_path: Path):
    source = tmp_path / "source"
    (source / "code").mkdir(parents=True)
    (source / "code" / "run.sh").write_text("echo ran\n")
    (source / "data.bin").write_bytes(b"\x00\x01\x02")
    sandbox.copy_in(source, f"{sandbox.workdir}/capsule")
    assert sandbox.exec("bash capsule/code/run.sh").stdout == "ran\n"
    assert sandbox.read_file("capsule/data.bin") == b"\x00\x01\x02"
    sandbox.exec("mkdir -p capsule/results/figs && echo 42 > capsule/results/answer.txt && echo f > capsule/results/figs/a.txt")
    out = tmp_path / "out"
    sandbox.copy_out(f"{sandbox.workdir}/capsule/results", out)
    assert (out / "results" / "answer.txt").read_text() == "42\n"
    assert (out / "results" / "figs" / "a.txt").read_text() == "f\n"
    sandbox.copy_out("capsule/data.bin", out)
    assert (out / "data.bin").read_bytes() == b"\x00\x01\x02"
    with pytest.raises(FileNotFoundError):
        sandbox.copy_out("capsule/none", out)


def test_links_are_followed_to_a_file_and_a_cycle_is_an_error_not_a_hang(sandbox):
    sandbox.exec("mkdir -p results && echo hi > results/x && ln -s x results/one && ln -s one results/two && "
                 "ln -s . results/loop && ln -s b results/a && ln -s a results/b && ln -s self results/self")
    assert sandbox.read_file("results/two") == b"hi\n"
    assert sandbox.read_file("results/loop/loop/x") == b"hi\n"
    with pytest.raises(IsADirectoryError):
        sandbox.read_file("results/loop")
    started = time.monotonic()
    for cycle in ("results/a", "results/self", "results/loop/b"):
        with pytest.raises(OSError) as raised:
            sandbox.read_file(cycle)
        assert raised.value.errno == errno.ELOOP, (cycle, raised.value)
    assert time.monotonic() - started < 10


def test_copy_out_keeps_links_as_links_and_leaves_out_those_that_lead_out(sandbox, tmp_path: Path):
    sandbox.exec("mkdir -p results/sub && echo 42 > results/answer.txt && ln -s . results/loop && "
                 "ln -s b results/a && ln -s a results/b && ln -s ../answer.txt results/sub/up && "
                 "ln -s /etc/passwd results/passwd")
    sandbox.copy_out("results", tmp_path / "out", max_bytes=1000)
    out = tmp_path / "out" / "results"
    assert (out / "answer.txt").read_text() == "42\n"
    assert os.readlink(out / "loop") == "." and (out / "loop" / "loop" / "answer.txt").read_text() == "42\n"
    assert (os.readlink(out / "a"), os.readlink(out / "b")) == ("b", "a")
    assert (out / "sub" / "up").read_text() == "42\n"
    assert not os.path.lexists(out / "passwd")  # it would point at the host's own file


def test_every_kind_has_the_whole_contract(kind):
    with start(kind) as box:
        box.allow_host_port(9)  # a firewall rule for docker; nothing to do for local
        peak = box.peak_memory_bytes()
    assert peak is None if kind == "local" else peak > 0


def test_spec_env_is_set_and_host_secrets_are_not(kind, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-conformance-secret")
    with start(kind, env={"TASK_HINT": "hello"}) as box:
        env = box.exec("env").stdout
    assert "TASK_HINT=hello" in env
    assert "sk-ant-conformance-secret" not in env and "ANTHROPIC_API_KEY" not in env


def test_close_is_idempotent_and_removes_everything(kind):
    run_id = test_run_id()
    box = start(kind, labels={"corebench.run": run_id})
    box.write_file("x.txt", "1")
    root = box.workdir
    box.close()
    box.close()
    if kind != "local":
        assert containers_of(run_id, ENGINE_OF[kind]) == []
    else:
        assert not os.path.exists(root)


def test_closed_on_exception_inside_with(kind):
    run_id = test_run_id()
    with pytest.raises(RuntimeError):
        with start(kind, labels={"corebench.run": run_id}) as box:
            root = box.workdir
            raise RuntimeError("scaffold crashed")
    if kind != "local":
        assert containers_of(run_id, ENGINE_OF[kind]) == []
    else:
        assert not os.path.exists(root)


# --- the background start itself ---------------------------------------------------------------


def test_a_sandbox_closed_while_it_starts_leaves_no_container(engine_kind):
    # A watchdog may close a task's sandbox before its container is up: the start must not leak it.
    require_image(kind=engine_kind)
    run_id = test_run_id()
    chosen = spec(kind=engine_kind, labels={"corebench.run": run_id, "corebench.task": "1"})
    box = BackgroundSandbox(lambda: open_sandbox(engine_kind, chosen), chosen.workdir)
    box.close()
    box.wait_closed()
    assert containers_of(run_id, engine_kind) == []
    with pytest.raises(RuntimeError, match="closed"):
        box.exec("true")


def test_a_failed_start_is_raised_where_the_sandbox_is_first_used():
    def start():
        time.sleep(0.2)
        raise ConnectionError("the container engine went away")

    with BackgroundSandbox(start, "/workspace") as box:
        assert box.workdir == "/workspace"  # known at once, before the start ends
        with pytest.raises(ConnectionError, match="went away"):
            box.exec("true")
        with pytest.raises(ConnectionError):
            box.read_file("x")
