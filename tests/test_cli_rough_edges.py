"""Small things a user of the CLI noticed: what each command now says instead."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.grading import official_rule
from corebench_runner.sandbox.docker import engine
from corebench_runner.store.database import open_store
from support_store import QA, SampleTask, add_run


def test_review_list_shows_run_ids_whole_when_runs_share_a_prefix(tmp_path: Path):
    path = tmp_path / "results.sqlite"
    store = open_store(path)
    question = "Report the test accuracy of the model."
    for run_id in ("20261130-021614-38c87a", "20261130-021655-aa11bb"):
        add_run(store, [SampleTask("capsule-a", [QA(question, 0.93, [0.9312] * 3, "disputed", "rounded")])],
                run_id=run_id)
    store.close()
    result = CliRunner().invoke(main, ["review", "list", "--store", str(path)])
    assert result.exit_code == 0, result.output
    rows = [line.split()[1] for line in result.output.splitlines()[2:]]
    assert sorted(rows) == ["20261130-021614-38c87a", "20261130-021655-aa11bb"]


def test_grader_reasons_carry_no_float_noise():
    # numpy's interval around three equal 0.1s is [0.09999999999999994, 0.1000000000000001].
    reason = official_rule.check([0.1, 0.1, 0.1], 0.2).reason
    assert reason == "0.2 is outside the 95% prediction interval [0.1, 0.1] of 3 runs that all give 0.1"
    reason = official_rule.check([0.91, 0.92, 0.93], 0.99).reason
    assert "[0.870317245765, 0.969682754235]" in reason and "(mean 0.92)" in reason
    assert official_rule.check([3, 3, 3], 3.5).reason.endswith("[3.0, 3.0] of 3 runs that all give 3")


@pytest.fixture
def unreachable_engine(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent")
    engine.docker_client.cache_clear()  # a client made before the variable changed must not answer
    yield
    engine.docker_client.cache_clear()


def test_an_unreachable_docker_host_is_named(unreachable_engine):
    result = CliRunner().invoke(main, ["images", "list"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: the Docker engine at DOCKER_HOST=unix:///nonexistent is not answering (DockerException); "
        "point DOCKER_HOST at a running engine, or unset it to use the local one"]
    doctor = CliRunner().invoke(main, ["doctor"])
    assert doctor.exit_code == 2
    assert ("FAIL  the Docker engine at DOCKER_HOST=unix:///nonexistent is not answering: point DOCKER_HOST at a "
            "running engine, or unset it to use the local one") in doctor.output.splitlines()
    assert "scripts/start_docker.sh" not in doctor.output


def test_settings_live_in_one_folder_and_an_old_file_is_still_read(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("COREBENCH_SETTINGS", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    from corebench_runner.settings import load_settings, settings_file

    assert settings_file() == tmp_path / "config" / "corebench-runner" / "settings.toml"
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert "`~/.config/corebench-runner/`" in readme
    old = tmp_path / "config" / "corebench" / "settings.toml"
    old.parent.mkdir(parents=True)
    old.write_text('debian_mirror = "http://mirror.example/debian"\n')
    assert load_settings().debian_mirror == "http://mirror.example/debian"
    doctor = CliRunner().invoke(main, ["doctor"])
    assert f"warn  settings read from the old place {old}: move it to " \
           f"{tmp_path / 'config' / 'corebench-runner' / 'settings.toml'}" in doctor.output.splitlines()


def test_without_docker_host_the_fix_is_to_start_the_local_engine(monkeypatch):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert engine.engine_not_answering() == "the local Docker engine is not answering"
    assert "bash scripts/start_docker.sh" in engine.engine_fix()


def test_runs_limit_must_be_a_positive_number(tmp_path: Path):
    store = tmp_path / "results.sqlite"
    open_store(store).close()
    result = CliRunner().invoke(main, ["runs", "--limit", "-3", "--store", str(store)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "Invalid value for '--limit': -3 is not in the range x>=1." in result.output
