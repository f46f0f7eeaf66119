"""A whole run on Podman: `corebench run --sandbox podman --scaffold oracle --capsules iris-lda`.

The capsule's environment is built by Podman (FROM corebench/r, which Podman builds too the first
time, from its corebench/base), its task runs in a Podman container, and nothing is left behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from corebench_runner.cli import main
from support_docker import engine, require_image

pytestmark = [pytest.mark.podman, pytest.mark.slow]


def test_the_oracle_reproduces_iris_lda_in_a_podman_container(tmp_path):
    require_image(kind="podman")  # corebench/base; the rest is built on the way
    store = str(tmp_path / "results.sqlite")
    result = CliRunner().invoke(main, ["run", "--sandbox", "podman", "--scaffold", "oracle", "--capsules", "iris-lda",
                                       "--store", store])
    assert result.exit_code == 0, result.output
    assert "accuracy 100.0% (1/1 tasks correct)" in result.output, result.output
    run_id = json.loads(CliRunner().invoke(main, ["runs", "--json", "--store", store]).output)[0]["id"]
    task = json.loads(CliRunner().invoke(main, ["show", run_id, "--json", "--store", store]).output)["tasks"][0]
    assert task["outcome"] == "correct", task
    podman = engine("podman")
    environments = [t for img in podman.images.list(filters={"label": "corebench.capsule=iris-lda"}) for t in img.tags]
    assert environments, "the environment image was not built by Podman"
    assert podman.containers.list(all=True, filters={"label": f"corebench.run={run_id}"}) == []


def test_claude_code_runs_in_its_agent_layer_built_by_podman_and_reaches_its_relay(tmp_path, monkeypatch):
    """The agent CLI's layer is built by Podman on the capsule's environment, and the agent in the Podman
    container reaches its metering relay on the host through the task network's firewall."""
    require_image(kind="podman")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    session = Path(__file__).resolve().parent.parent / "docs" / "examples" / "iris-lda.claude-code.session.json"
    store = str(tmp_path / "results.sqlite")
    result = CliRunner().invoke(main, ["run", "--sandbox", "podman", "--model", f"scripted:{session}", "--scaffold",
                                       "claude-code", "--capsules", "iris-lda", "--level", "medium", "--store", store])
    assert result.exit_code == 0, result.output
    assert "accuracy 100.0% (1/1 tasks correct)" in result.output, result.output
    layers = [t for img in engine("podman").images.list(filters={"label": "corebench.agent"}) for t in img.tags]
    assert any("corebench/agent-claude-code:" in t for t in layers), layers
