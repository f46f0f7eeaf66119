"""The command scaffold: an agent CLI (Claude Code) run inside the task's container.

The CLI runs as the unprivileged user, non-interactively, with the task prompt; it reaches
the model only through the metering relay on the host (corebench_runner/relay.py), which
holds the API key, meters usage and cost, and stops the task at its dollar cap. The run
engine asks `image_for(task_image)` for the image to start: the task's image plus a cached
Node.js + Claude Code layer (corebench_runner/agent_image.py).
"""

from __future__ import annotations

from corebench_runner.agent_cli import run_claude_code
from corebench_runner.agent_image import CLAUDE_CODE_VERSION, claude_code_image
from corebench_runner.errors import UserError
from corebench_runner.models.base import ModelClient
from corebench_runner.records import Limits, Submission, TaskSpec
from corebench_runner.sandbox.base import Sandbox


class CommandScaffold:
    name = "command"
    version = f"claude-code@{CLAUDE_CODE_VERSION}"
    needs_model = True
    always_uses_capsule_environment = False

    def image_for(self, task_image: str) -> str:
        """The image the task's sandbox must use: task_image plus the agent CLI layer."""
        return claude_code_image(task_image)

    def run(self, task: TaskSpec, sandbox: Sandbox, model: ModelClient | None, limits: Limits) -> Submission:
        if model is None:
            raise UserError("the command scaffold needs a model: pass --model anthropic:MODEL")
        return run_claude_code(task, sandbox, model, limits)


SCAFFOLD = CommandScaffold()
