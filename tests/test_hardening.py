"""CORE-Bench v1.1 hardening on hostile capsules: what a workspace and a task container may hold.

A hostile capsule leaves its own tarball (and archives of itself deeper in the tree), and keeps
previous results in results/ folders below the top level. None of it may reach the agent at the
hard level, and a task container cannot reach the sites that serve the original results.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from corebench_runner.capsules.format import load_capsule
from corebench_runner.capsules.levels import prepare, visible_files
from corebench_runner.errors import UserError
from corebench_runner.sandbox.docker.sandbox import DockerSandbox
from corebench_runner.settings import load_settings
from support_capsules import write_capsule
from support_docker import containers_of, require_image, spec, test_run_id

ARCHIVES_OF_THE_CAPSULE = {"tiny.tar.gz", "code/capsule-tiny.zip", "data/backup/old.tgz"}
DATA_ARCHIVE = "data/inputs.tar.gz"  # a data archive the code unpacks: it stays
NESTED_RESULTS = {"code/results/table.csv", "data/sub/Results/answers.txt", "code/deep/er/results/x/y.json"}


def _tar(path: Path, members: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def hostile_capsule(root: Path) -> Path:
    folder = write_capsule(root / "capsules")
    capsule_layout = {"capsule-tiny/REPRODUCING.md": "run it", "capsule-tiny/results/summary.json": "3.7333"}
    _tar(folder / "tiny.tar.gz", capsule_layout)  # what an importer may leave behind
    _tar(folder / "data" / "backup" / "old.tgz", {"environment/Dockerfile": "FROM x", "results/a.txt": "3.7333"})
    (folder / "code" / "capsule-tiny.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip, named after it
    _tar(folder / DATA_ARCHIVE, {"inputs/petals.csv": "length\n1.4\n"})
    for relative in NESTED_RESULTS:
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text("mean petal length 3.7333")
    return folder


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_no_archive_of_the_capsule_enters_a_workspace_at_any_level(tmp_path: Path, level: str):
    capsule = load_capsule(hostile_capsule(tmp_path))
    files = _files(prepare(capsule, level, tmp_path / "ws").path)
    assert not files & ARCHIVES_OF_THE_CAPSULE
    assert DATA_ARCHIVE in files  # the code's own data archive is not the capsule's


def test_hard_level_empties_results_folders_at_every_depth(tmp_path: Path):
    capsule = load_capsule(hostile_capsule(tmp_path))
    workspace = prepare(capsule, "hard", tmp_path / "ws").path
    assert not any("results" in part.lower() for f in _files(workspace) for part in f.split("/")[:-1])
    for relative in NESTED_RESULTS:  # the folders stay, so code that writes there still works
        assert (workspace / relative).parent.is_dir() and not (workspace / relative).exists()
    easy = _files(prepare(capsule, "easy", tmp_path / "ws-easy").path)
    assert NESTED_RESULTS <= easy  # easy keeps results: reading them is the task


def test_visible_files_lists_what_prepare_copies(tmp_path: Path):
    capsule = load_capsule(hostile_capsule(tmp_path))
    for level in ("easy", "medium", "hard"):
        workspace = prepare(capsule, level, tmp_path / f"ws-{level}").path
        listed = {p.relative_to(capsule.path).as_posix() for p in visible_files(capsule, level)}
        assert listed == _files(workspace)


def test_blocked_hosts_setting_reads_file_and_variable(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("COREBENCH_SETTINGS", str(tmp_path / "settings.toml"))
    monkeypatch.delenv("COREBENCH_BLOCKED_HOSTS", raising=False)
    default = load_settings().blocked_host_entries()
    assert default["codeocean.com"] == "0.0.0.0" and "cdn-lfs.huggingface.co" in default
    (tmp_path / "settings.toml").write_text('blocked_hosts = ["example.org"]\n')
    assert set(load_settings().blocked_hosts) == {"example.org"}
    monkeypatch.setenv("COREBENCH_BLOCKED_HOSTS", "none")
    assert load_settings().blocked_host_entries() == {}
    monkeypatch.setenv("COREBENCH_BLOCKED_HOSTS", "codeocean.com, not a host")
    with pytest.raises(UserError, match="COREBENCH_BLOCKED_HOSTS"):
        load_settings()


@pytest.mark.docker
def test_task_container_holds_no_capsule_archive_no_results_and_cannot_reach_the_sources(tmp_path: Path,
                                                                                          monkeypatch):
    require_image()
    monkeypatch.setenv("COREBENCH_SETTINGS", str(tmp_path / "none.toml"))
    monkeypatch.delenv("COREBENCH_BLOCKED_HOSTS", raising=False)
    capsule = load_capsule(hostile_capsule(tmp_path))
    workspace = prepare(capsule, "hard", tmp_path / "ws")
    run_id = test_run_id()
    with DockerSandbox(spec(run_id, user="agent")) as sandbox:  # as the bundled capsules' agents run
        sandbox.copy_in(workspace.path, "/workspace")
        found = sandbox.exec("find / -xdev \\( -name '*.tar*' -o -name '*.tgz' -o -name '*.zip' \\) "
                             "-path '/workspace/*' | sort", timeout=60)
        assert found.stdout.split() == ["/workspace/" + DATA_ARCHIVE]
        leftovers = sandbox.exec("find /workspace -ipath '*results/*' -type f", timeout=60)
        assert leftovers.exit_code == 0 and leftovers.stdout.strip() == ""
        for host in ("codeocean.com", "files.codeocean.com", "huggingface.co", "cdn-lfs.huggingface.co"):
            resolved = sandbox.exec(["getent", "hosts", host], timeout=30)
            assert resolved.stdout.split()[:1] == ["0.0.0.0"], (host, resolved.stdout)
        fetch = sandbox.exec(["python3", "-c", "import urllib.request; urllib.request.urlopen("
                              "'https://codeocean.com/capsule/1', timeout=20)"], timeout=60)
        assert fetch.exit_code != 0 and "Connection refused" in fetch.stderr
        undo = sandbox.exec("echo 203.0.113.9 codeocean.com >> /etc/hosts", timeout=30)
        assert undo.exit_code != 0 and "Permission denied" in undo.stderr  # an unprivileged agent cannot undo it
    monkeypatch.setenv("COREBENCH_BLOCKED_HOSTS", "none")  # the setting turns it off
    with DockerSandbox(spec(run_id)) as sandbox:
        hosts = sandbox.exec(["cat", "/etc/hosts"], timeout=30).stdout
        assert "codeocean.com" not in hosts and "huggingface.co" not in hosts
    assert containers_of(run_id) == []
