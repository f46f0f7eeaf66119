"""A throwaway suite for run-engine tests: tiny capsules plus a scaffold plugin of our own.

The plugin (scaffolds/behave.py in the temp suite) reads what to do from the capsule id's first
word, so one run exercises every outcome through the real engine, real Docker and real SQLite:

    good-*     writes the right answers             -> correct
    rounded-*  rounds the mean to 3.73               -> disputed (tolerant grader)
    wrong-*    reports a wrong mean                  -> incorrect
    silent-*   writes nothing                        -> no_report
    garbled-*  writes report.json that is not JSON   -> invalid_report
    listy-*    writes a JSON list                    -> invalid_report
    flaky-*    crashes on its first attempt only     -> correct, after one infra retry
    broken-*   crashes on every attempt              -> infra_error
    stubborn-* ignores its time limit (sleeps)       -> timeout, by the engine's watchdog
    slow-*     sleeps $BEHAVE_SLEEP seconds, then right answers (for kill and scaling tests)

The plugin is loaded by path like any suite plugin: that no engine change was needed to add
it is part of what these tests show.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from support_capsules import good_capsule_doc, write_capsule

RIGHT = {
    "Report the mean petal length, rounded to 4 decimal places.": 3.7333,
    "Report the name of the species with the widest sepals.": "setosa",
    "From the figure, report the number of clusters visible.": 3,
}

BEHAVE_SCAFFOLD = '''
"""A test scaffold whose behaviour is chosen by the capsule id (see tests/support_run.py)."""
import json
import os
import time
from pathlib import Path

from corebench_runner.records import Submission, Usage

RIGHT = %(right)s


class Behave:
    name = "behave"
    version = "7"
    needs_model = False
    always_uses_capsule_environment = False

    def run(self, task, sandbox, model, limits):
        kind = task.capsule_id.split("-")[0]
        transcript = [{"type": "note", "kind": kind, "prompt_chars": len(task.prompt)}]
        usage = Usage(input_tokens=100, output_tokens=10, cost_usd=0.5, calls=1)
        answers = dict(RIGHT)
        if kind == "flaky":
            marker = Path(os.environ["BEHAVE_STATE"]) / (task.capsule_id + ".tried")
            if not marker.exists():
                marker.write_text("1")
                raise RuntimeError("the container runtime went away (simulated)")
        if kind == "broken":
            raise RuntimeError("the container runtime is gone for good (simulated)")
        if kind == "stubborn":
            sandbox.exec("sleep 600", timeout=600)
            return Submission(answers=None, transcript=transcript, usage=usage)
        if kind == "slow":
            sandbox.exec("sleep " + os.environ.get("BEHAVE_SLEEP", "3"), timeout=600)
        if kind not in ("silent", "garbled", "listy"):
            # Earn the answers by running the capsule's code, so shortcut monitors see where they came from.
            command = "python3 code/analysis.py && cat results/summary.json"
            result = sandbox.exec(command, timeout=120, workdir=task.workspace_dir)
            transcript.append({"type": "command", "command": command, "exit_code": result.exit_code,
                               "stdout_tail": result.stdout, "stderr_tail": result.stderr})
        if kind == "silent":
            return Submission(answers=None, transcript=transcript, usage=usage)
        if kind == "rounded":
            answers["Report the mean petal length, rounded to 4 decimal places."] = 3.73
        if kind == "wrong":
            answers["Report the mean petal length, rounded to 4 decimal places."] = 9.99
        text = json.dumps(answers)
        if kind == "garbled":
            text = text[:-5]
        if kind == "listy":
            text = json.dumps(list(answers.values()))
        sandbox.write_file(task.workspace_dir + "/results/made_by_agent.txt", "produced " + kind)
        sandbox.exec("id -u > results/uid.txt", timeout=60, workdir=task.workspace_dir)  # who the agent ran as
        sandbox.write_file(task.report_path, text)
        return Submission(answers=answers, transcript=transcript, usage=usage, steps=1)


SCAFFOLD = Behave()
'''


def make_suite(root: Path, capsule_ids: list[str]) -> Path:
    """A suite folder with the given tiny capsules and the behave scaffold."""
    (root / "scaffolds").mkdir(parents=True)
    (root / "scaffolds" / "behave.py").write_text(BEHAVE_SCAFFOLD % {"right": repr(RIGHT)})
    for capsule_id in capsule_ids:
        doc = good_capsule_doc(capsule_id)
        doc["resources"] = {"cpus": 0.5, "memory": "256m", "time_limit": 600}
        write_capsule(root / "capsules", capsule_id, doc)
    return root


def count_rows(store_path: Path, run_id: str) -> dict[str, int]:
    """Rows of a run, read with plain sqlite3 (not through the code under test)."""
    conn = sqlite3.connect(store_path)
    try:
        tasks = conn.execute("SELECT COUNT(*), SUM(status = 'done') FROM tasks WHERE run_id = ?", (run_id,)).fetchone()
        answers = conn.execute("SELECT COUNT(*) FROM answers JOIN tasks t ON t.id = answers.task_id "
                               "WHERE t.run_id = ?", (run_id,)).fetchone()[0]
        duplicates = conn.execute("SELECT COUNT(*) FROM (SELECT task_id, question FROM answers GROUP BY task_id, "
                                  "question HAVING COUNT(*) > 1)").fetchone()[0]
        return {"tasks": tasks[0], "done": tasks[1] or 0, "answers": answers, "duplicate_answers": duplicates}
    finally:
        conn.close()


def containers_of(run_id: str) -> list[str]:
    """Containers (running or not) that carry the run's label."""
    out = subprocess.run(["docker", "ps", "-a", "-q", "--filter", f"label=corebench.run={run_id}"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def show_json(runner, store_path: Path, run_id: str) -> dict:
    from corebench_runner.cli import main

    result = runner.invoke(main, ["show", run_id, "--json", "--store", str(store_path)])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)
