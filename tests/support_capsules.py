"""Build small, valid capsule folders for tests, then break them on purpose."""

from __future__ import annotations

from pathlib import Path

import tomli_w

GOOD_QUESTIONS = [
    {"text": "Report the mean petal length, rounded to 4 decimal places.", "runs": [3.7333, 3.7333, 3.7333],
     "extract": {"file": "results/summary.json", "key": "mean_petal_length"}},
    {"text": "Report the name of the species with the widest sepals.", "runs": ["setosa", "setosa", "setosa"],
     "extract": {"file": "results/summary.json", "key": "widest_species"}},
    {"text": "From the figure, report the number of clusters visible.", "runs": [3, 3, 3],
     "extract": {"file": "results/summary.json", "key": "clusters"}},
]


def good_capsule_doc(capsule_id: str) -> dict:
    return {
        "id": capsule_id,
        "title": "A tiny test capsule",
        "field": "Computer Science",
        "language": "Python",
        "gpu": "none",
        "task_prompt": "Run code/analysis.py and answer the questions.",
        "environment": "environment/Dockerfile",
        "reproduce": "python3 code/analysis.py",
        "paper": {"doi": "10.0000/test", "authors": ["A. Tester"], "year": 2024},
        "resources": {"cpus": 1, "memory": "1g", "time_limit": 600},
        "questions": [dict(q) for q in GOOD_QUESTIONS],
    }


def write_capsule(capsules_dir: Path, capsule_id: str = "tiny", doc: dict | None = None) -> Path:
    """A complete capsule: every folder, run scripts, results with the answers, a Dockerfile."""
    folder = capsules_dir / capsule_id
    (folder / "code").mkdir(parents=True)
    (folder / "data").mkdir()
    (folder / "results").mkdir()
    (folder / "environment").mkdir()
    (folder / "code" / "analysis.py").write_text(
        "import json\nrows = [float(x) for x in open('data/petals.csv').read().split()[1:]]\n"
        "json.dump({'mean_petal_length': round(sum(rows) / len(rows), 4), 'widest_species': 'setosa',"
        " 'clusters': 3}, open('results/summary.json', 'w'))\n")
    (folder / "code" / "run.sh").write_text("#!/bin/bash\ncd .. && python3 code/analysis.py\n")
    (folder / "code" / "run").write_text("#!/bin/bash\nbash run.sh\n")
    (folder / "data" / "petals.csv").write_text("length\n1.4\n4.7\n5.1\n")
    (folder / "results" / "summary.json").write_text(
        '{"mean_petal_length": 3.7333, "widest_species": "setosa", "clusters": 3}')
    (folder / "environment" / "Dockerfile").write_text("FROM corebench/python:bookworm\n")
    (folder / "REPRODUCING.md").write_text("Run `bash code/run.sh` from code/.\n")
    (folder / "capsule.toml").write_text(tomli_w.dumps(doc or good_capsule_doc(capsule_id)))
    return folder
