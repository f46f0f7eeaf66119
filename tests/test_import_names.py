"""Every name an imported file gives (capsule ids, a Croissant dataset's name) is checked before any
byte is written: a hostile task file or Croissant file cannot place files outside the tarballs folder
or the suite, and a name that cannot be a file name is one clear line, never a traceback.

A local server on 127.0.0.1 serves whatever is asked and records it: a refused import fetches nothing.
"""

from __future__ import annotations

import http.server
import io
import json
import tarfile
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main

GOOD = {"capsule_id": "capsule-1234567", "capsule_title": "A paper", "field": "Biology", "language": "Python",
        "task_prompt": "Run the code.", "results": [{"Report the mean.": 1.5}]}


def _tarball() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = b"print(1)\n"
        info = tarfile.TarInfo("code/main.py")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Anything(http.server.ThreadingHTTPServer):
    """Answers every GET: core_test.json with `tasks_json`, anything else with a small capsule tarball."""

    def __init__(self, tasks_json: bytes):
        self.tasks_json = tasks_json
        self.requests: list[str] = []
        super().__init__(("127.0.0.1", 0), _Answer)


class _Answer(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        server: Anything = self.server  # type: ignore[assignment]
        server.requests.append(self.path)
        body = server.tasks_json if self.path.endswith(".json") else _tarball()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    serving = Anything(json.dumps([GOOD]).encode())
    threading.Thread(target=serving.serve_forever, daemon=True).start()
    yield serving
    serving.shutdown()
    serving.server_close()


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def _import(tmp_path: Path, source: Path, server: Anything) -> tuple[object, set[str]]:
    """`capsule import-corebench SOURCE --download --tarballs DIR`; (result, files made anywhere under tmp_path)."""
    tarballs = tmp_path / "deep" / "er" / "tarballs"
    (tmp_path / "suite").mkdir(exist_ok=True)
    before = _files(tmp_path)
    url = f"http://127.0.0.1:{server.server_address[1]}/{{capsule_id}}.tar.gz"
    result = CliRunner().invoke(main, ["--suite", str(tmp_path / "suite"), "capsule", "import-corebench", str(source),
                                       "--download", "--tarballs", str(tarballs), "--url-template", url, "--quiet"])
    return result, _files(tmp_path) - before


def _one_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def _croissant(tmp_path: Path, name: str, base: str, capsule_id: str = "capsule-1234567") -> Path:
    doc = {"@context": {"@vocab": "https://schema.org/"}, "conformsTo": "http://mlcommons.org/croissant/1.0",
           "name": name, "version": "1.1.0",
           "distribution": [{"name": "core_test.json", "contentUrl": f"{base}/core_test.json"}],  # no sha256
           "recordSet": [{"@id": "tasks", "name": "tasks", "data": [{
               "tasks/capsule_id": capsule_id, "tasks/capsule_title": "A paper", "tasks/task_prompt": "Run it.",
               "tasks/expected_answer": json.dumps([{"Report the mean.": 1.5}]),
               "tasks/capsule_url": f"{base}/{capsule_id}.tar.gz"}]}]}
    path = tmp_path / "croissant.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("name", ["core-bench-../../../escaped", "core-bench-..", "core-bench-a/b", "core-bench-\0x"])
def test_a_croissant_dataset_name_cannot_write_outside_the_tarballs_folder(tmp_path, server, name):
    base = f"http://127.0.0.1:{server.server_address[1]}"
    result, made = _import(tmp_path, _croissant(tmp_path, name, base), server)
    line = _one_line(result)
    assert "croissant.json" in line and "name" in line, line
    assert made == set() and server.requests == []  # refused before any byte was fetched or written


def _task_file(tmp_path: Path, **changes) -> Path:
    task = {**GOOD, **changes}
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps([GOOD | {"capsule_id": "capsule-7654321"}, task]))
    return path


@pytest.mark.parametrize("changes, named", [
    ({"capsule_id": "../../x/escaped"}, "capsule_id"),
    ({"capsule_id": "../../../../escaped"}, "capsule_id"),
    ({"capsule_id": "a\0b"}, "capsule_id"),
    ({"capsule_id": "c" * 300}, "capsule_id"),
    ({"capsule_id": ".hidden"}, "capsule_id"),
    ({"capsule_id": ".."}, "capsule_id"),
    ({"capsule_id": None}, "capsule_id"),
    ({"capsule_id": 42}, "capsule_id"),
    ({"capsule_title": None}, "capsule_title"),
    ({"task_prompt": None}, "task_prompt"),
    ({"field": None}, "field"),
    ({"results": None}, "results"),
    ({"results": [{"Report the mean.": None}]}, "Report the mean."),
])
def test_a_task_whose_names_or_fields_are_unusable_is_one_line_and_nothing_is_written(tmp_path, server, changes,
                                                                                      named):
    result, made = _import(tmp_path, _task_file(tmp_path, **changes), server)
    line = _one_line(result)
    assert "tasks.json" in line and "task 1" in line and named in line, line
    assert made == set() and server.requests == []  # not even the good task before it


def test_good_names_still_import_with_download(tmp_path, server):
    result, made = _import(tmp_path, _task_file(tmp_path), server)
    assert result.exit_code == 0, result.output
    assert {"deep/er/tarballs/capsule-1234567.tar.gz", "suite/capsules/capsule-1234567/capsule.toml"} <= made
    assert all(path.startswith(("deep/er/tarballs", "suite")) or path in ("deep", "deep/er") for path in made), made
