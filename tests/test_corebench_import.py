"""Upstream CORE-Bench import: field-for-field round trip, tarballs, tar-slip, downloads."""

from __future__ import annotations

import http.server
import io
import json
import os
import stat
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.capsules.corebench_import import read_tasks, task_from_capsule
from corebench_runner.capsules.format import load_capsule, parse_capsule
from corebench_runner.capsules.tarballs import download_tarball
from corebench_runner.cli import main
from corebench_runner.errors import UserError

# shared/ sits beside the repository (CI, the main checkout) or beside the worktrees' folder.
SHARED = next((p / "shared" / "corebench" for p in Path(__file__).resolve().parents
               if (p / "shared" / "corebench").is_dir()), Path(__file__).resolve().parents[2] / "shared" / "corebench")
TRAIN = SHARED / "core_train.json"
TEST_GPG = SHARED / "core_test.json.gpg"


def cli(args, suite: Path):
    return CliRunner().invoke(main, ["--suite", str(suite), *args])


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    suite = tmp_path_factory.mktemp("suite")
    for source in (TRAIN, TEST_GPG):
        result = cli(["capsule", "import-corebench", str(source), "--quiet"], suite)
        assert result.exit_code == 0, result.output
    return suite


def test_both_sets_import_as_90_capsules(imported: Path):
    folders = sorted((imported / "capsules").iterdir())
    assert len(folders) == 90
    for folder in folders:
        capsule, problems = parse_capsule(folder)
        assert capsule is not None, [p.line() for p in problems]
        assert capsule.contents == "missing"


def test_metadata_round_trips_field_for_field(imported: Path):
    sources = read_tasks(TRAIN) + read_tasks(TEST_GPG)
    assert len(sources) == 90
    for task in sources:
        capsule = load_capsule(imported / "capsules" / task["capsule_id"])
        rebuilt = task_from_capsule(capsule)
        assert rebuilt == task
        assert list(rebuilt) == list(task)  # field order too
        for run_rebuilt, run_source in zip(rebuilt["results"], task["results"]):
            assert list(run_rebuilt) == list(run_source)
            for key in run_source:  # int stays int, float stays float
                assert type(run_rebuilt[key]) is type(run_source[key])


def test_wrong_passphrase_is_one_clear_line(tmp_path: Path):
    result = cli(["capsule", "import-corebench", str(TEST_GPG), "--passphrase", "nope"], tmp_path)
    assert result.exit_code == 2
    assert "cannot decrypt" in result.output and "--passphrase" in result.output
    assert "Traceback" not in result.output


def test_not_a_task_file_is_refused(tmp_path: Path):
    bad = tmp_path / "tasks.json"
    bad.write_text('{"not": "a list"}')
    result = cli(["capsule", "import-corebench", str(bad)], tmp_path)
    assert result.exit_code == 2 and "expected a JSON list" in result.output


def test_validate_says_how_to_get_missing_contents(imported: Path):
    result = cli(["capsule", "validate", "capsule-7038571"], imported)
    assert result.exit_code == 0
    assert "--tarballs DIR" in result.output and "--download" in result.output


# ------------------------------------------------------------------ tarballs

UPSTREAM_LAYOUT = {
    "code/main.py": b"print('hello')\n",
    "code/run.sh": b"#!/bin/bash\npython main.py\n",
    "data/table.csv": b"a,b\n1,2\n",
    "data/blob.bin": bytes(range(256)) * 40,
    "results/output.txt": b"0.9375660604380387\n",
    "environment/Dockerfile": b"FROM registry.codeocean.com/codeocean/miniconda3:4.7.10-cuda10.1-cudnn7-ubuntu18.04\n",
    "REPRODUCING.md": b"# Reproducing\nbash code/run.sh\n",
}


def make_tarball(path: Path, top: str, files: dict[str, bytes], extra=None) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(data)
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            archive.addfile(info, io.BytesIO(data))
        for info, data in (extra or []):
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def first_task() -> dict:
    return read_tasks(TRAIN)[0]


def test_tarball_in_upstream_layout_imports_without_loss(tmp_path: Path):
    task = first_task()
    tarballs = tmp_path / "tarballs"
    tarballs.mkdir()
    make_tarball(tarballs / f"{task['capsule_id']}.tar.gz", task["capsule_id"], UPSTREAM_LAYOUT)
    tasks_file = tmp_path / "tasks.json"
    tasks_file.write_text(json.dumps([task]))
    result = cli(["capsule", "import-corebench", str(tasks_file), "--tarballs", str(tarballs), "--quiet"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "1 with contents, 0 without" in result.output
    folder = tmp_path / "capsules" / task["capsule_id"]
    for name, data in UPSTREAM_LAYOUT.items():
        assert (folder / name).read_bytes() == data, name
    assert (folder / "code/run.sh").stat().st_mode & stat.S_IXUSR
    capsule = load_capsule(folder)
    assert capsule.contents == "present"
    assert task_from_capsule(capsule) == task


@pytest.mark.parametrize("evil", ["../escape.txt", "/tmp/corebench-absolute.txt", "link"])
def test_tar_slip_is_refused_and_nothing_is_written(tmp_path: Path, evil: str):
    task = first_task()
    tarballs = tmp_path / "tarballs"
    tarballs.mkdir()
    extra = []
    if evil == "link":
        info = tarfile.TarInfo(f"{task['capsule_id']}/data/passwd")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../../../../../etc/passwd"
        extra.append((info, None))
    else:
        info = tarfile.TarInfo(evil)
        info.size = 4
        extra.append((info, b"evil"))
    make_tarball(tarballs / f"{task['capsule_id']}.tar.gz", task["capsule_id"], UPSTREAM_LAYOUT, extra)
    tasks_file = tmp_path / "tasks.json"
    tasks_file.write_text(json.dumps([task]))
    result = cli(["capsule", "import-corebench", str(tasks_file), "--tarballs", str(tarballs), "--quiet"], tmp_path)
    assert result.exit_code == 2, result.output
    assert "refused entry" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "capsules" / task["capsule_id"]).exists()
    assert not (tmp_path / "escape.txt").exists() and not Path("/tmp/corebench-absolute.txt").exists()
    assert [p.name for p in (tmp_path / "capsules").iterdir()] == []


# ------------------------------------------------------------------ downloads

class FlakyRangeServer(http.server.ThreadingHTTPServer):
    """Serves files with Range support; the first response of each file is cut off midway."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.requests: list[tuple[str, str | None]] = []
        self.cut_once: set[str] = set(files)
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        server: FlakyRangeServer = self.server  # type: ignore[assignment]
        name = self.path.lstrip("/")
        server.requests.append((name, self.headers.get("Range")))
        if name not in server.files:
            self.send_error(404)
            return
        data = server.files[name]
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if name in server.cut_once:
            server.cut_once.discard(name)
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.connection.shutdown(2)  # drop the connection mid-transfer
            return
        self.wfile.write(body)


@pytest.fixture
def http_files(tmp_path: Path):
    task = first_task()
    # Incompressible and large enough that part of it arrives before the cut.
    files = {**UPSTREAM_LAYOUT, "data/noise.bin": os.urandom(2_000_000)}
    blob = make_tarball(tmp_path / "src.tar.gz", task["capsule_id"], files).read_bytes()
    server = FlakyRangeServer({f"{task['capsule_id']}.tar.gz": blob})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, task, blob
    server.shutdown()


def test_download_resumes_after_a_dropped_connection(tmp_path: Path, http_files):
    server, task, blob = http_files
    url = f"http://127.0.0.1:{server.server_address[1]}/{{capsule_id}}.tar.gz"
    path = download_tarball(task["capsule_id"], tmp_path / "dl", url, backoff=0.01)
    assert path.read_bytes() == blob
    ranges = [r for _, r in server.requests]
    assert ranges[0] is None and ranges[1] is not None and ranges[1].startswith("bytes=")
    assert not path.with_name(path.name + ".part").exists()


def test_import_with_download_through_the_cli(tmp_path: Path, http_files):
    server, task, _ = http_files
    tasks_file = tmp_path / "tasks.json"
    tasks_file.write_text(json.dumps([task]))
    url = f"http://127.0.0.1:{server.server_address[1]}/{{capsule_id}}.tar.gz"
    result = cli(["capsule", "import-corebench", str(tasks_file), "--download", "--tarballs", str(tmp_path / "tb"),
                  "--url-template", url, "--quiet"], tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "capsules" / task["capsule_id"] / "code" / "main.py").is_file()


def test_truncated_file_is_never_reused(tmp_path: Path, http_files):
    server, task, blob = http_files
    server.cut_once = set()
    dest = tmp_path / "dl"
    dest.mkdir()
    # A leftover partial download from a killed process: it must be completed, not trusted.
    (dest / f"{task['capsule_id']}.tar.gz.part").write_bytes(blob[:100])
    url = f"http://127.0.0.1:{server.server_address[1]}/{{capsule_id}}.tar.gz"
    path = download_tarball(task["capsule_id"], dest, url, backoff=0.01)
    assert path.read_bytes() == blob


def test_missing_capsule_on_the_server_is_one_clear_line(tmp_path: Path, http_files):
    server, _, _ = http_files
    url = f"http://127.0.0.1:{server.server_address[1]}/{{capsule_id}}.tar.gz"
    with pytest.raises(UserError, match="not found"):
        download_tarball("capsule-0000000", tmp_path, url, backoff=0.01)


def test_test_set_stays_encrypted_in_the_repository():
    repo = Path(__file__).resolve().parents[1]
    tracked = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True).stdout.split()
    assert not any(name.endswith("core_test.json") for name in tracked)
