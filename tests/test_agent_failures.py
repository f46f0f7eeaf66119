"""An agent that cannot be installed or cannot start is an infra_error naming the agent and its log,
never a wrong answer; a bad recipe or version is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from corebench_runner.agents.cli_agents.recipe import bundled_recipe, load_recipe
from corebench_runner.errors import UserError
from support_agents import run_cli, session_file, step
from support_capsules import write_capsule


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    write_capsule(tmp_path / "suite" / "capsules", "tiny")
    return tmp_path / "suite"


def recipe_file(folder: Path, run_script: str, **fields: str) -> Path:
    """A command-scaffold recipe over OpenCode's package (already in the machine's npm cache)."""
    doc = {"name": "broken", "package": "opencode-linux-x64", "version": bundled_recipe("opencode").version,
           "files": '["bin/opencode"]', "command": "opencode", "run_script": "run.sh", "transcript": "lines",
           "api": "openai", **fields}
    lines = [f"{k} = {v}" if v.startswith("[") else f'{k} = "{v}"' for k, v in doc.items()]
    (folder / "recipe.toml").write_text("\n".join(lines) + "\n")
    (folder / "run.sh").write_text(run_script)
    return folder / "recipe.toml"


@pytest.mark.docker
@pytest.mark.slow
def test_an_agent_version_npm_does_not_have_is_an_infra_error_naming_the_agent_and_npm_log(suite, tmp_path,
                                                                                         monkeypatch):
    monkeypatch.setenv("COREBENCH_AGENT_CACHE", str(tmp_path / "agent-cache"))
    monkeypatch.setenv("COREBENCH_CODEX_VERSION", "0.0.1-not-released")
    script = session_file(tmp_path, "codex", [step("codex", "never asked")])
    task, _ = run_cli(["--scaffold", "codex", "--model", f"scripted:{script}", "--capsules", "tiny",
                       "--infra-retries", "0"], tmp_path / "results.sqlite", suite)
    assert task["outcome"] == "infra_error"
    assert "cannot install the codex agent" in task["error"] and "COREBENCH_CODEX_VERSION" in task["error"]
    log = Path(task["error"].rsplit("check ", 1)[1])
    assert log.is_file() and "0.0.1-not-released" in log.read_text()
    assert task["questions"] == [] or all(q["status"] != "incorrect" for q in task["questions"])


@pytest.mark.docker
@pytest.mark.slow
def test_a_binary_that_does_not_run_fails_its_layer_build_as_an_infra_error_naming_the_build_log(
        suite, tmp_path, monkeypatch):
    # package.json installed as the "binary": the layer's `opencode --version` check fails.
    recipe = recipe_file(tmp_path, "#!/bin/bash\nexec opencode run \"$@\"\n", files='["package.json"]')
    monkeypatch.setenv("COREBENCH_AGENT_RECIPE", str(recipe))
    script = session_file(tmp_path, "opencode", [step("opencode", "never asked")])
    task, _ = run_cli(["--scaffold", "command", "--model", f"scripted:{script}", "--capsules", "tiny",
                       "--infra-retries", "0"], tmp_path / "results.sqlite", suite)
    assert task["outcome"] == "infra_error"
    assert "building the broken@" in task["error"] and "agent layer" in task["error"]
    assert Path(task["error"].rsplit("check ", 1)[1]).is_file()


@pytest.mark.docker
@pytest.mark.slow
def test_an_agent_that_does_not_start_is_an_infra_error_with_its_log(suite, tmp_path, monkeypatch):
    recipe = recipe_file(tmp_path, "#!/bin/bash\necho 'loading the agent' >&2\nexec /opt/no-such-agent \"$@\"\n",
                         api="anthropic")
    monkeypatch.setenv("COREBENCH_AGENT_RECIPE", str(recipe))
    script = session_file(tmp_path, "claude-code", [step("claude-code", "never asked")])
    task, _ = run_cli(["--scaffold", "command", "--model", f"scripted:{script}", "--capsules", "tiny",
                       "--infra-retries", "0"], tmp_path / "results.sqlite", suite)
    assert task["outcome"] == "infra_error"
    assert "the broken@" in task["error"] and "did not start (exit code 127)" in task["error"]
    assert "no-such-agent" in task["error"] and "loading the agent" in task["error"]


def test_a_recipe_with_mistakes_says_which_file_and_field(tmp_path):
    path = recipe_file(tmp_path, "#!/bin/bash\n", transcript="yaml")
    with pytest.raises(UserError, match=r"recipe.toml: transcript must be one of"):
        load_recipe(path)
    path.write_text('name = "x"\n')
    with pytest.raises(UserError, match=r"recipe.toml lacks package, version, files, command, run_script"):
        load_recipe(path)
    with pytest.raises(UserError, match="cannot read the agent recipe"):
        load_recipe(tmp_path / "missing.toml")


def test_a_version_that_is_not_a_version_number_is_refused(monkeypatch):
    monkeypatch.setenv("COREBENCH_OPENCODE_VERSION", "latest; rm -rf /")
    with pytest.raises(UserError, match=r"\$COREBENCH_OPENCODE_VERSION: .* is not a version number"):
        bundled_recipe("opencode")


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("agent", ["codex", "opencode"])
def test_an_openai_outage_is_an_infra_error_naming_the_status_not_the_agents_failure(agent, suite, tmp_path,
                                                                                      monkeypatch):
    from corebench_scripted.openai_api import OpenAIServer

    overloaded = {"error": {"status": 503, "type": "server_error", "message": "Overloaded", "retry_after": 0}}
    monkeypatch.setenv("OPENAI_API_KEY", "sk-outage-test")
    with OpenAIServer([overloaded] * 100, api_key="sk-outage-test", side_replies=True) as server:
        task, _ = run_cli(["--scaffold", agent, "--model", "openai:gpt-5", "--base-url", server.base_url,
                           "--capsules", "tiny", "--timeout", "60", "--infra-retries", "0"],
                          tmp_path / "results.sqlite", suite)
        calls = len(server.main_requests)
    assert task["outcome"] == "infra_error", task
    assert "the model API was unavailable (upstream answered 503" in task["error"]
    assert "wrote no report" in task["error"] and calls >= 1


def test_an_agent_given_a_model_of_the_other_api_says_which_model_flag_to_pass():
    from corebench_runner.capsules.plugins import load_plugin
    from corebench_runner.models.anthropic_client import AnthropicClient
    from corebench_runner.records import Limits

    model = AnthropicClient("claude-sonnet-4-6", api_key="sk-ant-test")
    with pytest.raises(UserError, match="speaks the OpenAI API.*pass --model openai:MODEL"):
        load_plugin("scaffolds", "codex").run(None, None, model, Limits())


@pytest.mark.parametrize(("agent", "model", "flag"), [("codex", "anthropic:claude-opus-5", "openai:MODEL"),
                                                      ("claude-code", "openai:gpt-5.5", "anthropic:MODEL")])
def test_a_run_with_a_model_of_the_other_api_stops_before_asking_for_a_key(agent, model, flag, tmp_path,
                                                                          monkeypatch):
    """Before planning, and before any key is asked for: the key a user lacks is not the problem."""
    from click.testing import CliRunner

    from corebench_runner.cli import main

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    store = tmp_path / "results.sqlite"
    result = CliRunner().invoke(main, ["run", "--scaffold", agent, "--model", model, "--capsules", "iris-lda",
                                       "--store", str(store)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        f"error: --model {model}: scaffold {agent} speaks the "
        f"{'OpenAI' if flag.startswith('openai') else 'Anthropic'} API; pass --model {flag}")
