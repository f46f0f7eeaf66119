"""`corebench triage RUN --scaffold claude-code|codex`: the real Claude Code or Codex binary in a real container
reads the failed task's files and writes its proposals; the scripted model is the local Messages or
Responses server behind the metering relay, as for a run's task (tests/test_agent_scaffolds.py)."""

from __future__ import annotations

import json

import docker
import pytest
from click.testing import CliRunner

from corebench_runner.agents.cli_agents.npm_fetch import fetch
from corebench_runner.agents.cli_agents.recipe import bundled_recipe
from corebench_runner.agents.image import agent_image, layer_tag
from corebench_runner.cli import main
from corebench_runner.images.base import toolbox_image
from corebench_runner.store.database import open_store
from corebench_runner.store.triage import run_proposals
from support_store import QA, SampleTask, add_run, bash_call

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
QUESTION = "Report the test accuracy of the model."
READ_FILES = (
    "cd /workspace && python3 -c \"import json, os; t = json.load(open('transcript.json')); "
    "names = sorted(os.listdir('.')) + sorted(os.listdir('produced')); "
    "leak = any('scripted-local-key' in v for v in os.environ.values()); "
    "json.dump({'proposals': [{'answer': 1, 'verdict': 'right_in_spirit', 'category': 'grading_error', "
    "'reasoning': 'read %d events; files: %s; key seen: %s' % (len(t), ' '.join(names), leak)}]}, "
    "open('triage.json', 'w'))\"")


# Each agent's scripted session: one command that reads the files and writes triage.json, then a last word.
SESSIONS = {
    "claude-code": {"side_replies": True, "steps": [
        {"content": [{"type": "text", "text": "Reading the task's files."},
                     {"type": "tool_use", "name": "Bash", "input": {"command": READ_FILES, "description": "read"}}]},
        {"content": [{"type": "text", "text": "I wrote /workspace/triage.json."}]}]},
    "codex": {"protocol": "openai-responses", "side_replies": True, "steps": [
        {"content": [{"type": "text", "text": "Reading the task's files."},
                     {"type": "tool_use", "name": "exec_command", "input": {"cmd": READ_FILES}}]},
        {"content": [{"type": "text", "text": "I wrote /workspace/triage.json."}]}]},
}


@pytest.fixture(params=sorted(SESSIONS))
def agent(request):
    """An agent's layer on the toolbox image, as triage builds it; removed after when this test made it."""
    recipe = bundled_recipe(request.param)
    client = docker.from_env()
    tag = layer_tag(toolbox_image(), recipe, fetch(recipe))
    existed = bool(client.images.list(name=tag))
    agent_image(toolbox_image(), recipe)
    yield request.param
    if not existed:
        client.images.remove(tag, force=True)


def test_the_agent_reads_the_task_files_and_its_proposal_is_stored(tmp_path, agent):
    store = open_store(tmp_path / "results.sqlite")
    run_id = add_run(store, [SampleTask(
        "capsule-cc", [QA(QUESTION, 0.93, [0.9312, 0.9312], "disputed", "0.93 equals the references rounded")],
        transcript=[bash_call("python train.py", "test accuracy: 0.93\n")],
        produced={"metrics.json": b'{"accuracy": 0.9312}'})])
    session = tmp_path / f"triage.{agent}.json"
    session.write_text(json.dumps(SESSIONS[agent]))
    before = [tuple(r) for r in store.query("SELECT id, status FROM answers")]

    result = CliRunner().invoke(main, ["triage", run_id, "--model", f"scripted:{session}", "--scaffold", agent,
                                       "--max-cost", "1", "--store", str(store.path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "1 proposal(s) stored" in result.output

    (proposal,) = run_proposals(store, run_id).values()
    assert (proposal.verdict, proposal.category, proposal.scaffold) == ("right_in_spirit", "grading_error", agent)
    # It read the transcript (one event) and saw only the task's kept files: never capsule.toml.
    assert proposal.reasoning == "read 1 events; files: produced transcript.json metrics.json; key seen: False"
    call = store.query("SELECT * FROM triage_calls")[0]  # the relay's metering, recorded with the call
    prompt_tokens = call["input_tokens"] + call["cache_creation_input_tokens"] + call["cache_read_input_tokens"]
    assert call["scaffold"] == agent and prompt_tokens > 0 and call["output_tokens"] > 0
    assert call["cost_usd"] == 0.0  # the scripted model's price
    assert call["error"] is None
    assert [tuple(r) for r in store.query("SELECT id, status FROM answers")] == before
    assert store.query("SELECT COUNT(*) FROM reviews")[0][0] == 0
    leftovers = docker.from_env().containers.list(all=True, filters={"label": f"corebench.run=triage-{run_id}"})
    assert leftovers == []
    store.close()
