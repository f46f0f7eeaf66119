"""Importing CORE-Bench v1.1 from its Croissant files: metadata only, with tarballs, with downloads."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.capsules.corebench_import import read_task_source, read_tasks, task_from_capsule
from corebench_runner.capsules.format import load_capsule, parse_capsule
from corebench_runner.cli import main
from support_grading_v11 import MAINLINE, OOD, gpg_json
from test_corebench_import import TRAIN, UPSTREAM_LAYOUT, FlakyRangeServer, make_tarball


def cli(args, suite: Path):
    return CliRunner().invoke(main, ["--suite", str(suite), *args])


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    suite = tmp_path_factory.mktemp("suite")
    for source in (MAINLINE, OOD):
        result = cli(["capsule", "import-corebench", str(source), "--quiet"], suite)
        assert result.exit_code == 0, result.output
    return suite


def test_all_58_tasks_import_from_the_croissant_files_alone(imported: Path):
    folders = sorted((imported / "capsules").iterdir())
    assert len(folders) == 58
    labels = {}
    for folder in folders:
        capsule, problems = parse_capsule(folder)
        assert capsule is not None, [p.line() for p in problems]
        assert capsule.contents == "missing"
        labels[capsule.benchmark.label] = labels.get(capsule.benchmark.label, 0) + 1
    assert labels == {"core-bench 1.1 mainline": 39, "core-bench 1.1 ood": 19}


def test_every_record_field_is_kept_and_runs_come_from_expected_answer(imported: Path):
    raw = gpg_json(MAINLINE)["recordSet"][0]["data"] + gpg_json(OOD)["recordSet"][0]["data"]
    tasks = read_tasks(MAINLINE) + read_tasks(OOD)
    for record, task in zip(raw, tasks):
        capsule = load_capsule(imported / "capsules" / task["capsule_id"])
        rebuilt = task_from_capsule(capsule)
        assert rebuilt == task and list(rebuilt) == list(task)
        assert rebuilt["results"] == json.loads(record["tasks/expected_answer"])
        assert rebuilt["capsule_url"] == record["tasks/capsule_url"]
        assert [f"tasks/{k}" for k in rebuilt] == [k.replace("expected_answer", "results") for k in record]
        assert [q.runs for q in capsule.questions] == [tuple(run[q.text] for run in rebuilt["results"])
                                                       for q in capsule.questions]


def test_list_and_validate_speak_of_the_v11_suite(imported: Path):
    listing = cli(["capsule", "list"], imported).output
    assert "capsule-9477017  core-bench 1.1 mainline" in listing
    assert "capsule-9026204  core-bench 1.1 ood" in listing
    assert "benchmark   core-bench 1.1 mainline" in cli(["capsule", "show", "capsule-9477017"], imported).output
    result = cli(["capsule", "validate", "capsule-9477017"], imported)
    assert result.exit_code == 0
    assert "--tarballs DIR" in result.output and "--download" in result.output


def test_the_original_files_are_labelled_core_bench_1_0(tmp_path: Path):
    source = read_task_source(TRAIN)
    assert source.benchmark == {"name": "core-bench", "version": "1.0", "split": "train"}
    task_file = tmp_path / "core_train.json"
    task_file.write_text(json.dumps(source.tasks[:1]))
    assert cli(["capsule", "import-corebench", str(task_file), "--quiet"], tmp_path).exit_code == 0
    capsule = load_capsule(tmp_path / "capsules" / source.tasks[0]["capsule_id"])
    assert capsule.benchmark.label == "core-bench 1.0 train"


# ------------------------------------------------------------------ tarballs and the GPU

CODE_OCEAN_PREREQUISITES = (b"# Prerequisites\n\n- [Docker Community Edition (CE)](https://www.docker.com/community-edition)\n"
                            b"- [nvidia-docker](https://github.com/NVIDIA/nvidia-docker/) for code that leverages the GPU\n")
CPU_LAYOUT = {**UPSTREAM_LAYOUT, "environment/Dockerfile": b"FROM registry.codeocean.com/codeocean/r-base:4.0.3\n",
              "REPRODUCING.md": CODE_OCEAN_PREREQUISITES + b"\n# Instructions\n\n    docker run --rm IMAGE bash run\n"}
CUDA_LAYOUT = {**UPSTREAM_LAYOUT, "environment/Dockerfile":
               b"# hash:sha256:0\nFROM registry.codeocean.com/codeocean/pytorch:2.1.0-cuda11.8.0-ubuntu22.04\n"}
NVIDIA_DOC_LAYOUT = {**CPU_LAYOUT, "REPRODUCING.md": CODE_OCEAN_PREREQUISITES
                     + b"\n# Instructions\n\n    docker run --rm --gpus all IMAGE bash run\n"}


def test_tarballs_import_whole_and_a_gpu_environment_is_required(tmp_path: Path):
    tasks = read_tasks(MAINLINE)[:4]
    tarballs = tmp_path / "tarballs"
    tarballs.mkdir()
    layouts = {tasks[0]["capsule_id"]: CPU_LAYOUT, tasks[1]["capsule_id"]: CUDA_LAYOUT,
               tasks[2]["capsule_id"]: NVIDIA_DOC_LAYOUT}  # the fourth has no tarball
    for capsule_id, layout in layouts.items():
        make_tarball(tarballs / f"{capsule_id}.tar.gz", capsule_id, layout)
    result = cli(["capsule", "import-corebench", str(MAINLINE), "--tarballs", str(tarballs), "--quiet"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "39 capsule(s) of core-bench 1.1 mainline" in result.output and "3 with contents, 36 without" in result.output
    cuda, doc = tasks[1]["capsule_id"], tasks[2]["capsule_id"]
    assert f'{cuda}: gpu = "required": its Dockerfile starts FROM a CUDA base image' in result.output
    assert f'{doc}: gpu = "required": its REPRODUCING.md asks for a GPU (\'docker run --rm --gpus all' in result.output
    assert result.output.count('gpu = "required"') == 2
    for capsule_id, layout in layouts.items():
        capsule = load_capsule(tmp_path / "capsules" / capsule_id)
        assert capsule.contents == "present"
        assert capsule.gpu == ("none" if layout is CPU_LAYOUT else "required")
        for name, data in layout.items():
            assert (capsule.path / name).read_bytes() == data
    assert load_capsule(tmp_path / "capsules" / tasks[3]["capsule_id"]).contents == "missing"


# ------------------------------------------------------------------ --download

def _served_croissant(tmp_path: Path, base: str, tasks_json: bytes, sha: str | None = None) -> Path:
    """The real mainline Croissant, cut to two records, its addresses pointing at a local server."""
    data = gpg_json(MAINLINE)
    records = data["recordSet"][0]["data"][:2]
    for record in records:
        record["tasks/capsule_url"] = f"{base}/hf/capsules/{record['tasks/capsule_id']}.tar.gz"
    data["recordSet"][0]["data"] = records
    data["distribution"][0]["contentUrl"] = f"{base}/hf/core_test.json"
    data["distribution"][0]["sha256"] = sha or hashlib.sha256(tasks_json).hexdigest()
    path = tmp_path / "croissant_mainline.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def v11_server(tmp_path: Path):
    tasks = read_tasks(MAINLINE)[:2]
    core_test = [{**tasks[0], "gpu": True}, tasks[1]]  # upstream's task file carries fields the records lack
    tasks_json = json.dumps(core_test).encode()
    files = {"hf/core_test.json": tasks_json}
    big = {**CPU_LAYOUT, "data/noise.bin": os.urandom(2_000_000)}  # large enough to be cut mid-transfer
    for task, layout in zip(tasks, (big, CPU_LAYOUT)):
        blob = make_tarball(tmp_path / f"{task['capsule_id']}.src.tar.gz", task["capsule_id"], layout).read_bytes()
        files[f"hf/capsules/{task['capsule_id']}.tar.gz"] = blob
    server = FlakyRangeServer(files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, tasks, tasks_json, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_download_fetches_and_checks_core_test_json_then_the_tarballs(tmp_path: Path, v11_server):
    server, tasks, tasks_json, base = v11_server
    croissant = _served_croissant(tmp_path, base, tasks_json)
    cache = tmp_path / "cache"
    result = cli(["capsule", "import-corebench", str(croissant), "--download", "--tarballs", str(cache)], tmp_path)
    assert result.exit_code == 0, result.output
    assert "checked against the Croissant sha256" in result.output
    assert "2 with contents, 0 without" in result.output
    assert (cache / "core_test.mainline.json").read_bytes() == tasks_json
    fetched = [name for name, _ in server.requests]
    assert set(fetched) == set(server.files)  # every file from the Croissant's own addresses
    assert any(rng for _, rng in server.requests)  # each first transfer was cut: the downloads resumed
    first = load_capsule(tmp_path / "capsules" / tasks[0]["capsule_id"])
    assert first.gpu == "required" and task_from_capsule(first)["gpu"] is True
    assert (first.path / "data" / "blob.bin").read_bytes() == UPSTREAM_LAYOUT["data/blob.bin"]
    again = cli(["capsule", "import-corebench", str(croissant), "--download", "--tarballs", str(cache),
                 "--overwrite", "--quiet"], tmp_path)
    assert again.exit_code == 0 and len(server.requests) == len(fetched)  # complete files are reused


def test_a_core_test_json_that_fails_its_sha256_stops_the_import(tmp_path: Path, v11_server):
    server, tasks, tasks_json, base = v11_server
    croissant = _served_croissant(tmp_path, base, tasks_json, sha="0" * 64)
    cache = tmp_path / "cache"
    result = cli(["capsule", "import-corebench", str(croissant), "--download", "--tarballs", str(cache), "--quiet"],
                 tmp_path)
    assert result.exit_code == 2
    assert "sha256" in result.output and "core_test.json" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (cache / "core_test.mainline.json").exists()
    assert not (tmp_path / "capsules").exists() or not any((tmp_path / "capsules").iterdir())


def test_a_damaged_croissant_file_is_one_clear_line(tmp_path: Path):
    data = gpg_json(OOD)
    data["recordSet"][0]["data"][0]["tasks/expected_answer"] = "[{not json"
    damaged = tmp_path / "croissant_ood.json"
    damaged.write_text(json.dumps(data))
    for args in (["capsule", "import-corebench", str(damaged)],
                 ["grade", "--tasks", str(damaged), "--answers", str(damaged)]):
        result = cli(args, tmp_path)
        assert result.exit_code == 2, result.output
        assert "expected_answer is not valid JSON" in result.output and "Traceback" not in result.output
    del data["recordSet"]
    damaged.write_text(json.dumps(data))
    result = cli(["capsule", "import-corebench", str(damaged)], tmp_path)
    assert result.exit_code == 2 and "expected a JSON list" in result.output
