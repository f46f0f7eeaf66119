"""What a killed attempt spent is never lost: a `usage` row per model call, written as it happens.

A real `corebench run` makes billed calls through the real Anthropic SDK to a scripted local
Messages server, then is killed with SIGKILL mid-task; the calls are in the store. The resume
finishes the task, and its totals count every call exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from corebench_runner.models.pricing import find_price, load_prices
from corebench_runner.records import Usage
from support_run import RIGHT, make_suite

CORE = Path(sys.executable).parent / "corebench"
PRICED_MODEL = "claude-haiku-4-5"

SPENDER_SCAFFOLD = '''
"""Makes three billed model calls; on its first attempt it then hangs (to be killed), after that it answers."""
import json
import time
from pathlib import Path

from corebench_runner.records import Submission

RIGHT = %(right)s


class Spender:
    name = "spender"
    version = "1"
    needs_model = True

    def run(self, task, sandbox, model, limits):
        marker = Path(%(state)r) / (task.capsule_id + ".tried")
        calls = 1 if marker.exists() else 3
        transcript = []
        for _ in range(calls):
            response = model.complete("be brief", [{"role": "user", "content": task.prompt}])
            transcript.append({"type": "model_call", "usage": vars(response.usage).copy()})
        if not marker.exists():
            marker.write_text("1")
            time.sleep(600)  # killed here, with three calls billed
        sandbox.write_file(task.report_path, json.dumps(RIGHT))
        return Submission(answers=RIGHT, transcript=transcript, steps=calls)


SCAFFOLD = Spender()
'''


def _rows(store: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(store, timeout=30)
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def test_calls_of_an_attempt_killed_with_the_process_are_kept_and_counted_once(tmp_path: Path):
    suite = make_suite(tmp_path / "suite", ["good-a"])
    state = tmp_path / "state"
    state.mkdir()
    (suite / "scaffolds" / "spender.py").write_text(SPENDER_SCAFFOLD % {"right": repr(RIGHT), "state": str(state)})
    script = tmp_path / "script.json"
    reply = {"content": [{"type": "text", "text": "ok"}], "usage": {"input_tokens": 1000, "output_tokens": 100}}
    script.write_text(json.dumps({"model": PRICED_MODEL, "steps": [reply]}))
    store = tmp_path / "results.sqlite"
    env = {**os.environ, "PYTHONWARNINGS": "ignore::UserWarning", "COREBENCH_SUITE": str(suite)}
    args = ["--store", str(store), "--quiet"]
    process = subprocess.Popen([str(CORE), "run", "--scaffold", "spender", "--model", f"scripted:{script}",
                                "--sandbox", "local", "--all", *args], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (state / "good-a.tried").exists():
            time.sleep(0.2)
        assert (state / "good-a.tried").exists(), "the scaffold never made its calls"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    price = find_price(PRICED_MODEL, load_prices())
    one_call = price.cost(Usage(input_tokens=1000, output_tokens=100))
    kept = _rows(store, "SELECT attempt, live, input_tokens, output_tokens, cost_usd, model FROM usage")
    assert kept == [(1, 1, 1000, 100, pytest.approx(one_call), f"scripted:{script}")] * 3
    assert _rows(store, "SELECT status FROM tasks") == [("running",)]

    (run_id,) = _rows(store, "SELECT id FROM runs")[0]
    resumed = subprocess.run([str(CORE), "run", "--resume", run_id, *args], env=env, capture_output=True,
                             text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    ((outcome, attempts, tokens_in, tokens_out, cost, details),) = _rows(
        store, "SELECT outcome, attempts, input_tokens, output_tokens, cost_usd, details_json FROM tasks")
    assert (outcome, attempts) == ("correct", 2)
    # Three calls of the killed attempt and one of the finishing attempt: four, each counted once.
    assert (tokens_in, tokens_out) == (4000, 400) and cost == pytest.approx(4 * one_call)
    rows = _rows(store, "SELECT attempt, input_tokens, cost_usd FROM usage ORDER BY id")
    assert [r[0] for r in rows] == [1, 1, 1, 2]
    assert sum(r[1] for r in rows) == tokens_in and sum(r[2] for r in rows) == pytest.approx(cost)
    killed = json.loads(details)["killed_or_replaced_attempts_usage"]
    assert killed["calls"] == 3 and killed["input_tokens"] == 3000


@pytest.mark.docker
@pytest.mark.slow
def test_calls_an_agent_cli_made_through_the_relay_survive_a_kill(tmp_path: Path):
    """Claude Code's calls go through the metering relay, not the engine's client: each is still a
    usage row the moment the relay meters it, so SIGKILL mid-task loses none of them."""
    from support_agents import session_file, step
    from support_capsules import write_capsule

    write_capsule(tmp_path / "suite" / "capsules", "tiny")
    usage = {"input_tokens": 1000, "output_tokens": 100}
    script = session_file(tmp_path, "claude-code", [
        step("claude-code", "Looking around.", "ls /workspace", usage=usage),
        step("claude-code", "Waiting for the analysis.", "sleep 600", usage=usage),
    ], model=PRICED_MODEL)
    store = tmp_path / "results.sqlite"
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")}
    env.update(PYTHONWARNINGS="ignore::UserWarning", COREBENCH_SUITE=str(tmp_path / "suite"))
    process = subprocess.Popen([str(CORE), "run", "--scaffold", "claude-code", "--model", f"scripted:{script}",
                                "--capsules", "tiny", "--level", "hard", "--store", str(store), "--quiet"],
                               env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    main_calls = "SELECT input_tokens, output_tokens, live, attempt FROM usage WHERE input_tokens = 1000"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and len(_rows(store, main_calls)) < 2 and process.poll() is None:
            time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        runs = _rows(store, "SELECT id FROM runs")
        if runs:  # the killed run's container, as `corebench clean` would
            subprocess.run(["docker", "rm", "-f", *subprocess.run(
                ["docker", "ps", "-a", "-q", "--filter", f"label=corebench.run={runs[0][0]}"],
                capture_output=True, text=True).stdout.split()], capture_output=True)
    # Both scripted turns were billed before the kill, and both are in the store, live, attempt 1.
    assert _rows(store, main_calls) == [(1000, 100, 1, 1)] * 2
    assert _rows(store, "SELECT status FROM tasks") == [("running",)]
    (cost,) = _rows(store, "SELECT SUM(cost_usd) FROM usage WHERE input_tokens = 1000")[0]
    price = find_price(PRICED_MODEL, load_prices())
    assert cost == pytest.approx(2 * price.cost(Usage(input_tokens=1000, output_tokens=100)))
