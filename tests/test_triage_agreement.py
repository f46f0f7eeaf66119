"""benchmarks/triage_agreement.py as a person runs it: one line and exit 0 without a key; with a
scripted model (the real SDK over HTTP to the local server) it prints agreement per label."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "triage_agreement.py"


def run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300)


def test_without_a_key_it_says_so_in_one_line_and_exits_0():
    result = run()
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "triage_agreement needs ANTHROPIC_API_KEY or OPENAI_API_KEY set (it asks a real model); nothing measured"]
    assert result.stderr == ""


@pytest.mark.skipif(shutil.which("gpg") is None, reason="the labelled set is gpg-encrypted")
def test_agreement_is_counted_per_label(tmp_path):
    session = tmp_path / "always-right.json"
    session.write_text(json.dumps({"steps": [{"content": [{"type": "tool_use", "name": "propose", "input": {
        "proposals": [{"answer": n, "verdict": "right_in_spirit", "category": "grading_error", "reasoning": "r"}
                      for n in range(1, 5)]}}]}]}))
    result = run("--model", f"scripted:{session}", "--limit", "4")
    assert result.returncode == 0, result.stderr
    lines = [" ".join(line.split()) for line in result.stdout.splitlines()]
    # A model that calls everything right in spirit agrees with every in-spirit label and no wrong one.
    assert "in_spirit 2/2 proposals agree with the label: 1.000" in lines
    assert "wrong 0/2 proposals agree with the label: 0.000" in lines
    assert "overall 2/4 0.500" in lines
    assert "spent $0.0000 in 1 call(s)" in lines
