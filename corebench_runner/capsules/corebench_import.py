"""Import upstream CORE-Bench tasks (JSON, a v1.1 Croissant file, either .gpg-encrypted) as capsules.

Every upstream field is kept: the mapped ones in capsule.toml's own fields, the rest
verbatim under [upstream], so `task_from_capsule` rebuilds the source task exactly.
Capsule contents come from a tarball (capsule-ID.tar.gz); see tarballs.py. Each capsule
records its suite in [benchmark] (core-bench 1.0 train/test, core-bench 1.1 mainline/ood).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from corebench_runner.capsules.croissant import benchmark_version, is_croissant, read_croissant
from corebench_runner.capsules.format import CAPSULE_FILE, Capsule
from corebench_runner.capsules.tarballs import unpack_capsule_tarball
from corebench_runner.errors import UserError

DEFAULT_PASSPHRASE = "reproducibility"
# Upstream fields that have a home of their own in capsule.toml.
MAPPED_FIELDS = ("capsule_id", "capsule_title", "field", "language", "task_prompt", "results", "capsule_doi", "gpu")
REQUIRED_FIELDS = ("capsule_id", "capsule_title", "task_prompt", "results")
TEXT_FIELDS = ("capsule_title", "field", "language", "task_prompt", "capsule_doi")  # null in any is refused
# A capsule id names a folder and a tarball (ID.tar.gz.part): no separators, dots first, NULs or long names.
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
MAX_ID_LENGTH = 100
SAFE_SPLIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")  # a Croissant split names core_test.SPLIT.json


@dataclass(frozen=True)
class TaskSource:
    """What a task file holds: the tasks, the suite they belong to and (Croissant) core_test.json's address."""

    tasks: list[dict[str, Any]]
    benchmark: dict[str, str]  # name, version, split for capsule.toml's [benchmark]
    tasks_json_url: str | None = None
    tasks_json_sha256: str | None = None


def _parse_json(path: Path, raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid JSON ({exc}); expected upstream's list of tasks or a Croissant file") from None


def check_tasks(path: Path, tasks: Any) -> list[dict[str, Any]]:
    """The tasks, every one checked before anything is fetched or written: a name that becomes a file or
    folder name (the capsule id) must be a plain one, and no field a capsule is made from may be null."""
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise UserError(f"{path}: expected a JSON list of task objects, as upstream's core_train.json, or a v1.1 "
                        "Croissant file with a `tasks` record set")
    for i, task in enumerate(tasks):
        missing = [f for f in REQUIRED_FIELDS if f not in task]
        if missing:
            raise UserError(f"{path}: task {i} lacks {', '.join(missing)}; is this an upstream CORE-Bench task file?")
        problem = id_problem(task["capsule_id"])
        if problem:
            raise UserError(f"{path}: task {i}: capsule_id {_shown(task['capsule_id'])} {problem}; fix the task file")
        for name in TEXT_FIELDS:
            if name in task and not isinstance(task[name], str):
                raise UserError(f"{path}: task {i}: {name} is {_shown(task[name])}, not text; fix the task file")
        if not isinstance(task["results"], list) or not task["results"] or not all(isinstance(r, dict) for r in task["results"]):
            raise UserError(f"{path}: task {i}: `results` must be a non-empty list of {{question: value}} runs")
        for run in task["results"]:
            for question, value in run.items():
                if value is None:
                    raise UserError(f"{path}: task {i}: the answer to {question[:80]!r} is null in a run of `results`; "
                                    "fix the task file")
    return tasks


def id_problem(capsule_id: Any) -> str:
    """Why a capsule id cannot name the capsule's folder and tarball, or "" when it can."""
    if not isinstance(capsule_id, str):
        return "is not text"
    if len(capsule_id) > MAX_ID_LENGTH:
        return f"is {len(capsule_id)} characters long (at most {MAX_ID_LENGTH})"
    if not SAFE_ID.fullmatch(capsule_id):
        return "cannot be a file name (letters, digits, '.', '_' and '-' only, starting with a letter or digit)"
    return ""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _v10_split(path: Path) -> str:
    return "test" if "test" in path.name else ("train" if "train" in path.name else "")


def read_task_source(path: Path, passphrase: str = DEFAULT_PASSPHRASE) -> TaskSource:
    """Read an upstream task list or a Croissant file; a .gpg file is decrypted in memory (never written out)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file; give the path of core_train.json, core_test.json.gpg or a "
                        "v1.1 Croissant file")
    raw = decrypt(path, passphrase) if path.suffix == ".gpg" else path.read_bytes()
    data = _parse_json(path, raw)
    if is_croissant(data):
        dataset = read_croissant(data, str(path))
        if dataset.split and (not SAFE_SPLIT.fullmatch(dataset.split) or ".." in dataset.split):
            raise UserError(f"{path}: the dataset name {_shown(dataset.name)} ends in {_shown(dataset.split)}, which "
                            "cannot name a file (letters, digits, '.', '_' and '-'); fix the name field")
        benchmark = {"name": "core-bench", "version": benchmark_version(dataset.version) or "1.1",
                     "split": dataset.split}
        return TaskSource(check_tasks(path, dataset.tasks), benchmark, dataset.tasks_json_url,
                          dataset.tasks_json_sha256)
    return TaskSource(check_tasks(path, data), {"name": "core-bench", "version": "1.0", "split": _v10_split(path)})


def read_tasks(path: Path, passphrase: str = DEFAULT_PASSPHRASE) -> list[dict[str, Any]]:
    """The tasks of an upstream task file or a Croissant file (see read_task_source)."""
    return read_task_source(path, passphrase).tasks


def decrypt(path: Path, passphrase: str = DEFAULT_PASSPHRASE) -> bytes:
    """A gpg-encrypted file's bytes, decrypted in memory (a throwaway gpg home; nothing written out)."""
    if shutil.which("gpg") is None:
        raise UserError(f"{path}: decrypting needs gpg; install it (Debian: apt-get install gnupg)")
    with tempfile.TemporaryDirectory(prefix="corebench-gpg-") as home:
        proc = subprocess.run(
            ["gpg", "--homedir", home, "--batch", "--quiet", "--pinentry-mode", "loopback",
             "--passphrase-fd", "0", "--decrypt", str(path)],
            input=passphrase.encode(), capture_output=True,
        )
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        hint = detail[-1] if detail else "gpg failed"
        raise UserError(f"{path}: cannot decrypt ({hint}); check --passphrase (upstream's is {DEFAULT_PASSPHRASE!r})")
    return proc.stdout


def _gpu_value(task: dict[str, Any]) -> str:
    gpu = task.get("gpu")
    if gpu is None or gpu is False:
        return "none"
    if gpu is True:
        return "required"
    if isinstance(gpu, str) and gpu in ("none", "optional", "required"):
        return gpu
    return "required" if gpu else "none"


def capsule_toml_for(task: dict[str, Any], contents_present: bool, split: str,
                     benchmark: dict[str, str] | None = None, gpu: str | None = None) -> dict[str, Any]:
    """The capsule.toml document for one upstream task (gpu: what the capsule's files say, if anything)."""
    runs = task["results"]
    questions = []
    for text in runs[0]:
        values = [run[text] for run in runs if text in run]
        questions.append({"text": text, "runs": values})
    extra = {k: v for k, v in task.items() if k not in MAPPED_FIELDS}
    upstream: dict[str, Any] = {"capsule_id": task["capsule_id"], "split": split,
                                "field_order": list(task.keys())}
    if "gpu" in task:
        upstream["gpu"] = task["gpu"]
    if any(list(run.keys()) != list(runs[0].keys()) for run in runs):
        upstream["results"] = json.dumps(runs)  # runs disagree in their keys: keep them verbatim
    if extra:
        upstream["extra"] = json.dumps(extra)
    doc: dict[str, Any] = {
        "id": task["capsule_id"],
        "title": task["capsule_title"],
        "field": task.get("field", ""),
        "language": task.get("language", ""),
        "gpu": gpu or _gpu_value(task),
        "task_prompt": task["task_prompt"],
        "environment": "environment/Dockerfile",
        "contents": "present" if contents_present else "missing",
        "paper": {"doi": task.get("capsule_doi", "")},
        "upstream": upstream,
        "benchmark": benchmark or {"name": "core-bench", "version": "1.0", "split": split},
        "questions": questions,
    }
    return doc


def task_from_capsule(capsule: Capsule) -> dict[str, Any]:
    """Rebuild the upstream task dict from an imported capsule (the inverse of capsule_toml_for)."""
    up = capsule.upstream
    if "results" in up:
        results = json.loads(up["results"])
    else:
        results = capsule.reference_runs()
    values: dict[str, Any] = {
        "capsule_id": up.get("capsule_id", capsule.id),
        "capsule_title": capsule.title,
        "field": capsule.field,
        "language": capsule.language,
        "task_prompt": capsule.task_prompt,
        "results": results,
        "capsule_doi": capsule.paper.doi,
    }
    if "gpu" in up:
        values["gpu"] = up["gpu"]
    values.update(json.loads(up.get("extra", "{}")))
    order = up.get("field_order") or list(values)
    return {key: values[key] for key in order if key in values}


@dataclass(frozen=True)
class ImportResult:
    capsule_id: str
    path: Path
    contents: str  # "present" | "missing"
    replaced: bool
    gpu_reason: str | None = None  # why the import set gpu = "required", in words


# Signs, in a capsule's own files, that its environment needs a GPU. Code Ocean's REPRODUCING.md
# lists "nvidia-docker ... for code that leverages the GPU" in every capsule, so that line says nothing.
_GPU_SIGNS = (("environment/Dockerfile", re.compile(r"^\s*FROM\s+\S*cuda\S*", re.IGNORECASE | re.MULTILINE),
               "its Dockerfile starts FROM a CUDA base image"),
              ("environment/Dockerfile", re.compile(r"nvidia", re.IGNORECASE), "its Dockerfile mentions nvidia"),
              ("REPRODUCING.md", re.compile(r"--gpus\b|nvidia|\bcuda\b", re.IGNORECASE),
               "its REPRODUCING.md asks for a GPU"))
_BOILERPLATE = re.compile(r"for code that leverages the GPU", re.IGNORECASE)


def gpu_evidence(folder: Path) -> str | None:
    """Why the capsule in folder needs a GPU (first sign found), or None."""
    for relative, pattern, words in _GPU_SIGNS:
        file = folder / relative
        if not file.is_file():
            continue
        lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
        text = "\n".join(line for line in lines if not _BOILERPLATE.search(line))
        match = pattern.search(text)
        if match:
            line = next(line for line in text.splitlines() if match.group(0) in line)
            return f"{words} ({line.strip()[:70]!r})"
    return None


def import_task(task: dict[str, Any], capsules_dir: Path, tarball: Path | None, split: str,
                overwrite: bool = False, benchmark: dict[str, str] | None = None) -> ImportResult:
    """Write one task as a capsule folder (atomically: built aside, then moved into place)."""
    capsule_id = task["capsule_id"]
    problem = id_problem(capsule_id)
    if problem:
        raise UserError(f"task id {_shown(capsule_id)} {problem}; fix the task file")
    dest = capsules_dir / capsule_id
    existed = dest.exists()
    if existed and not overwrite:
        raise UserError(f"{dest} already exists; pass --overwrite to replace it")
    capsules_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{capsule_id}-", dir=capsules_dir))
    try:
        gpu_reason = None
        if tarball is not None:
            unpack_capsule_tarball(tarball, staging)
            if _gpu_value(task) != "required":
                gpu_reason = gpu_evidence(staging)
        doc = capsule_toml_for(task, contents_present=tarball is not None, split=split, benchmark=benchmark,
                               gpu="required" if gpu_reason else None)
        (staging / CAPSULE_FILE).write_text(tomli_w.dumps(doc), encoding="utf-8")
        if existed:
            shutil.rmtree(dest)
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ImportResult(capsule_id, dest, "present" if tarball is not None else "missing", existed, gpu_reason)
