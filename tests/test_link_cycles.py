"""Symbolic links an agent makes (a link to its own folder, two links to each other, a link by
absolute path) are recorded like any other output: reading report.json and copying results/ out
never loop, a link out of results/ is left out rather than costing the task all its results, and a
task whose report.json leads round in a cycle ends no_report at once, not infra_error after its
retries (each of which would have spent the model again). Real containers, the run engine, the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.store.database import open_store
from support_run import RIGHT, containers_of, make_suite, show_json

LINKER_SCAFFOLD = '''
"""Writes the right answers, then makes link cycles where the engine will read: results/, report.json."""
import json
from pathlib import Path

from corebench_runner.records import Submission, Usage

RIGHT = %(right)s


class Linker:
    name = "linker"
    version = "1"
    needs_model = False

    def run(self, task, sandbox, model, limits):
        with (Path(%(state)r) / task.capsule_id).open("a") as tries:
            tries.write("run\\n")  # one line per attempt: a retry would spend the model again
        sandbox.write_file(task.workspace_dir + "/results/made_by_agent.txt", "produced")
        sandbox.exec("ln -s . results/loop && ln -s b results/a && ln -s a results/b && "
                     "ln -s /workspace/code results/code", timeout=60, workdir=task.workspace_dir)
        if task.capsule_id.startswith("circular"):
            sandbox.exec("ln -s other.json report.json && ln -s report.json other.json", timeout=60,
                         workdir=task.workspace_dir)
        else:
            sandbox.write_file(task.report_path, json.dumps(RIGHT))
        return Submission(answers=None, transcript=[{"type": "note"}], steps=1,
                          usage=Usage(input_tokens=100, output_tokens=10, cost_usd=0.5, calls=1))


SCAFFOLD = Linker()
'''


@pytest.mark.docker
def test_link_cycles_made_by_the_agent_are_recorded_and_never_retried(tmp_path: Path):
    from corebench_runner.cli import main

    suite = make_suite(tmp_path / "suite", ["loops-a", "circular-a"])
    state = tmp_path / "state"
    state.mkdir()
    (suite / "scaffolds" / "linker.py").write_text(LINKER_SCAFFOLD % {"right": repr(RIGHT), "state": str(state)})
    store = tmp_path / "results.sqlite"
    runner = CliRunner()
    result = runner.invoke(main, ["--suite", str(suite), "run", "--scaffold", "linker", "--all", "--level", "hard",
                                  "--concurrency", "2", "--quiet", "--store", str(store)])
    assert result.exit_code == 0, result.output

    shown = show_json(runner, store, "")
    tasks = {t["capsule_id"]: t for t in shown["tasks"]}
    assert {c: t["outcome"] for c, t in tasks.items()} == {"loops-a": "correct", "circular-a": "no_report"}
    assert {c: (state / c).read_text().count("run") for c in tasks} == {"loops-a": 1, "circular-a": 1}
    with open_store(store) as opened:
        details = {r["capsule_id"]: json.loads(r["details_json"]) for r in opened.query("SELECT * FROM tasks")}
        artifacts = opened.artifacts_dir
    assert {c: d["infra_attempts"] for c, d in details.items()} == {"loops-a": 1, "circular-a": 1}
    for capsule_id, task in tasks.items():
        assert "results_copy_error" not in details[capsule_id], details[capsule_id]
        produced = artifacts / task["artifacts_dir"] / "results"
        assert (produced / "made_by_agent.txt").read_text() == "produced"
        assert os.readlink(produced / "loop") == "."  # kept as the link it was, not followed
        assert not os.path.lexists(produced / "code")  # by absolute path: on the host it would lead elsewhere
    assert containers_of(shown["run"]["id"]) == []
