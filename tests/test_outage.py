"""An upstream outage is never scored as the agent's failure: real Claude Code in a real container,
through the real metering relay, against a local Messages server that answers 529 to every call."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from corebench_runner.agents.image import claude_code_image
from corebench_runner.capsules.plugins import load_plugin
from corebench_runner.models.anthropic_client import AnthropicClient
from corebench_runner.records import Limits, Outcome, TaskSpec
from corebench_runner.sandbox.base import SandboxSpec
from corebench_runner.sandbox.docker.sandbox import DockerSandbox
from corebench_scripted.messages_api import MessagesServer

KEY = "sk-ant-outage-test-key"
OVERLOADED = {"error": {"status": 529, "type": "overloaded_error", "message": "Overloaded", "retry_after": 0}}


@pytest.mark.docker
@pytest.mark.slow
def test_claude_code_against_an_upstream_answering_529_ends_infra_error_naming_the_status(tmp_path: Path):
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "data.txt").write_text("1 2 3\n")
    task = TaskSpec(capsule_id="outage", level="hard", prompt="Report the sum in /workspace/report.json.",
                    questions=("What is the sum?",), vision_questions=(), workspace_dir="/workspace",
                    report_path="/workspace/report.json", language="Python")
    # Claude Code retries an overloaded API for minutes; the task's wall time ends it first, and the
    # outcome still names the outage rather than the timeout or the missing report.
    with MessagesServer([OVERLOADED] * 200, api_key=KEY) as upstream:
        model = AnthropicClient("claude-sonnet-4-6", api_key=KEY, base_url=upstream.url)
        spec = SandboxSpec(image=claude_code_image("corebench/python:bookworm"),
                           labels={"corebench.task": "test-outage"})
        started = time.monotonic()
        with DockerSandbox(spec) as sandbox:
            sandbox.copy_in(workspace, task.workspace_dir)
            submission = load_plugin("scaffolds", "command").run(task, sandbox, model, Limits(wall_seconds=45))
        seconds = time.monotonic() - started
        calls = len(upstream.requests)
    assert submission.answers is None
    assert submission.outcome is Outcome.INFRA_ERROR, (submission.outcome, submission.error, seconds)
    assert f"upstream answered 529 to {calls} of {calls} calls" in submission.error
    assert "wrote no report" in submission.error
    assert calls >= 2  # the agent did try again; it was never answered
