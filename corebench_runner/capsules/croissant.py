"""CORE-Bench v1.1 task metadata published as MLCommons Croissant 1.0 files.

A Croissant file is one JSON object; its record set `tasks` holds one record per task with
fields named `tasks/capsule_id`, ..., `tasks/expected_answer` (the reference runs as a JSON
string, upstream's `results`) and `tasks/capsule_url` (the tarball). `distribution` names
core_test.json with its sha256. Records become upstream task dicts, every field kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from corebench_runner.errors import UserError

RECORD_SET = "tasks"
ANSWER_FIELD = "expected_answer"  # Croissant's name for upstream's `results`


@dataclass(frozen=True)
class CroissantDataset:
    name: str
    version: str
    split: str  # "mainline" / "ood", from the dataset name
    tasks: list[dict[str, Any]]
    tasks_json_url: str | None  # core_test.json, for --download
    tasks_json_sha256: str | None


def is_croissant(data: Any) -> bool:
    return isinstance(data, dict) and "recordSet" in data and (
        "croissant" in str(data.get("conformsTo", "")) or "@context" in data)


def _split_of(name: str) -> str:
    lowered = name.lower()
    for split in ("mainline", "ood"):
        if split in lowered:
            return split
    return lowered.rsplit("-", 1)[-1] if "-" in lowered else ""


def _task_from_record(record: dict[str, Any], index: int, source: str) -> dict[str, Any]:
    task: dict[str, Any] = {}
    for key, value in record.items():
        name = key.split("/", 1)[1] if key.startswith(f"{RECORD_SET}/") else key
        if name == ANSWER_FIELD:
            try:
                value = json.loads(value) if isinstance(value, str) else value
            except json.JSONDecodeError as exc:
                raise UserError(f"{source}: record {index}: {ANSWER_FIELD} is not valid JSON ({exc.msg}); "
                                "is the Croissant file complete?") from None
            name = "results"
        task[name] = value
    return task


def read_croissant(data: dict[str, Any], source: str) -> CroissantDataset:
    """The tasks of a Croissant dataset as upstream task dicts (results from expected_answer)."""
    record_sets = data.get("recordSet")
    records = None
    if isinstance(record_sets, list):
        for record_set in record_sets:
            if isinstance(record_set, dict) and RECORD_SET in (record_set.get("@id"), record_set.get("name")):
                records = record_set.get("data")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise UserError(f"{source}: no record set {RECORD_SET!r} with inline data; expected a CORE-Bench v1.1 "
                        "Croissant file (croissant_mainline.json or croissant_ood.json)")
    tasks = [_task_from_record(record, i, source) for i, record in enumerate(records)]
    url = sha = None
    for item in data.get("distribution") or []:
        if isinstance(item, dict) and item.get("name") == "core_test.json":
            url, sha = item.get("contentUrl"), item.get("sha256")
    name = str(data.get("name", ""))
    version = str(data.get("version", ""))
    return CroissantDataset(name=name, version=version, split=_split_of(name), tasks=tasks,
                            tasks_json_url=url, tasks_json_sha256=sha)


def benchmark_version(version: str) -> str:
    """"1.1.0" -> "1.1": the label runs are grouped by."""
    parts = version.split(".")
    while len(parts) > 2 and parts[-1] == "0":
        parts.pop()
    return ".".join(parts)
