"""One display name per model on every surface: a scripted session's local path never leaves the machine
in the CLI, the review queue, or any export (CSV, JSON, Parquet, HAL, Inspect)."""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.models.names import display_name
from corebench_runner.review.verdicts import record_verdict
from corebench_runner.store.database import open_store
from support_report import add_run, render_site

SESSION_FOLDER = "/home/someone/private-work/sessions/sonnet/"
RUN_ID = "2026-11-30-scripted-sonnet"


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("names") / "results.sqlite"
    store = open_store(path)
    add_run(store, random.Random(7), RUN_ID, model="scripted:" + SESSION_FOLDER, created="2026-11-30T08:00:00+00:00",
            capsules=["capsule-0001", "capsule-0002"])
    with store.transaction() as conn:  # as plan_run records it: the model spec among the options
        conn.execute("UPDATE runs SET config_json = json_set(config_json, '$.options.model', ?) WHERE id = ?",
                     ("scripted:" + SESSION_FOLDER, RUN_ID))
    first = store.query("SELECT MIN(id) AS id FROM answers")[0]["id"]
    record_verdict(store, first, "incorrect", reviewer="ada", reason="read off the wrong table")  # the review log
    store.close()
    return path


def cli(store_path, *args: str):
    result = CliRunner().invoke(main, [*args, "--store", str(store_path)], input="q\n")
    return result


def test_display_name_is_the_session_name_and_idempotent():
    assert display_name("scripted:" + SESSION_FOLDER) == "scripted:sonnet"
    assert display_name("scripted:/tmp/x/sonnet/default.json") == "scripted:sonnet"
    assert display_name("scripted:/tmp/x/iris.session.json") == "scripted:iris.session"
    assert display_name("anthropic:claude-opus-5-5") == "anthropic:claude-opus-5-5"
    assert display_name(display_name("scripted:" + SESSION_FOLDER)) == "scripted:sonnet"


@pytest.mark.parametrize("args", [["runs"], ["runs", "--json"], ["show", RUN_ID], ["show", RUN_ID, "--json"],
                                  ["export"], ["export", "--format", "json"],
                                  ["review", "--run", RUN_ID]])
def test_no_surface_prints_the_session_path(store_path, args):
    result = cli(store_path, *args)
    assert result.exit_code == 0, result.output
    assert "private-work" not in result.output and "scripted:sonnet" in result.output


def test_hal_upload_names_the_model_by_display_name(store_path, tmp_path):
    out = tmp_path / "hal.json"
    assert cli(store_path, "export", "--format", "hal", RUN_ID, "--out", str(out)).exit_code == 0
    upload = json.loads(out.read_text())
    assert upload["config"]["agent_args"]["model_name"] == "scripted:sonnet"
    assert upload["config"]["agent_args"]["options"]["model"] == "scripted:sonnet"
    assert "private-work" not in out.read_text()


def test_parquet_and_inspect_carry_no_path(store_path, tmp_path):
    pytest.importorskip("inspect_ai")
    parquet = tmp_path / "q.parquet"
    assert cli(store_path, "export", "--format", "parquet", "--out", str(parquet)).exit_code == 0
    import pandas as pd
    assert set(pd.read_parquet(parquet)["model"]) == {"scripted:sonnet"}
    log_path = tmp_path / "run.json"
    result = cli(store_path, "export", "--format", "inspect", RUN_ID, "--out", str(log_path))
    assert result.exit_code == 0, result.output
    text = log_path.read_text()
    assert "private-work" not in text and '"scripted/sonnet"' in text


def test_review_filters_by_display_name_and_names_an_unknown_filter(store_path):
    known = cli(store_path, "review", "--model", "scripted:sonnet")
    assert known.exit_code == 0, known.output
    assert "answer(s) to review" in known.output or "No open disputes" in known.output
    unknown_model = cli(store_path, "review", "--model", "nope")
    assert unknown_model.exit_code == 2
    assert "--model nope: no run of that model" in unknown_model.output and "scripted:sonnet" in unknown_model.output
    unknown_capsule = cli(store_path, "review", "--capsule", "iris-lad")
    assert unknown_capsule.exit_code == 2
    assert "--capsule iris-lad: no task of that capsule" in unknown_capsule.output
    assert "capsule-0001" in unknown_capsule.output
    assert "Traceback" not in unknown_model.output + unknown_capsule.output


def test_no_page_of_the_site_carries_the_session_path(store_path, tmp_path):
    site = render_site(store_path, tmp_path / "site")
    pages = [path for path in site.rglob("*") if path.suffix in (".html", ".csv", ".json", ".svg")]
    assert any("scripted:sonnet" in page.read_text(encoding="utf-8") for page in pages if page.name == "reviews.html")
    leaking = [page.name for page in pages if "private-work" in page.read_text(encoding="utf-8")]
    assert leaking == []
