"""A capsule.toml with an array nested 500 deep (the TOML parser recurses once per level) is one line
naming the file, and the rest of the suite goes on: `capsule list`, `validate --all`, `run --all`,
through the real CLI. So is any other TOML file the runner reads (a price table, a recipe)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support_run import make_suite

CORE = Path(sys.executable).parent / "corebench"
DEEP = "[" * 500 + "]" * 500


def _corebench(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CORE), *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "ignore::UserWarning", **env})


def _deep_suite(tmp_path: Path) -> tuple[Path, Path]:
    suite = make_suite(tmp_path / "suite", ["good-a", "deep-a"])
    toml = suite / "capsules" / "deep-a" / "capsule.toml"
    toml.write_text(toml.read_text() + f"\n[extra]\nnest = {DEEP}\n")
    return suite, toml


def test_a_capsule_nested_500_deep_is_one_line_and_the_suite_goes_on(tmp_path: Path):
    suite, toml = _deep_suite(tmp_path)
    listed = _corebench("--suite", str(suite), "capsule", "list")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines() if line.startswith(("good-a", "deep-a"))}
    assert "INVALID" in rows["deep-a"] and "easy, medium, hard" in rows["good-a"]

    validated = _corebench("--suite", str(suite), "capsule", "validate", "--all")
    assert "Traceback" not in validated.stderr + validated.stdout
    said = [line for line in (validated.stdout + validated.stderr).splitlines() if "deep-a" in line]
    assert said == [f"error: {toml}: syntax: arrays or tables nested too deep to read; flatten them"], said
    assert "ok: good-a" in validated.stdout

    store = tmp_path / "results.sqlite"
    ran = _corebench("--suite", str(suite), "run", "--scaffold", "behave", "--all", "--sandbox", "local",
                     "--store", str(store), "--quiet")
    assert ran.returncode == 0 and "Traceback" not in ran.stderr, ran.stderr
    assert "left out deep-a" in ran.stdout + ran.stderr
    shown = json.loads(_corebench("show", "", "--json", "--store", str(store)).stdout)
    assert [(t["capsule_id"], t["outcome"]) for t in shown["tasks"]] == [("good-a", "correct")]


def test_a_price_table_nested_500_deep_is_one_line(tmp_path: Path):
    prices = tmp_path / "prices.toml"
    prices.write_text(f"nest = {DEEP}\n")
    from corebench_runner.errors import UserError
    from corebench_runner.models import pricing

    try:
        pricing._parse(prices.read_text(), str(prices))
    except UserError as exc:
        assert exc.message == f"{prices}: arrays or tables nested too deep to read; fix the file or remove it"
    else:
        raise AssertionError("a price table nested 500 deep was read")
