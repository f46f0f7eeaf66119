"""Scripted sessions for the three agent CLIs, and running one through `corebench run`.

Each agent gets the same plan in its own tool vocabulary: Claude Code's `Bash`, Codex's
`exec_command`, OpenCode's `bash`. The local scripted server (Messages for Claude Code,
Responses for Codex, Chat Completions for OpenCode) plays it to the real binary.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from corebench_runner.cli import main
from corebench_runner.diagnostics.stored import show_json
from corebench_runner.store.database import open_store
from corebench_runner.store.results import list_runs

AGENTS = ("claude-code", "codex", "opencode")
PROTOCOL = {"claude-code": "anthropic-messages", "codex": "openai-responses", "opencode": "openai-chat"}
PRICED_MODEL = {"claude-code": "claude-sonnet-4-6", "codex": "gpt-5", "opencode": "gpt-5"}


def shell(agent: str, command: str) -> dict:
    """One tool call that runs `command` in the agent's own shell tool."""
    if agent == "claude-code":
        return {"type": "tool_use", "name": "Bash", "input": {"command": command, "description": "run"}}
    if agent == "codex":
        return {"type": "tool_use", "name": "exec_command", "input": {"cmd": command}}
    return {"type": "tool_use", "name": "bash", "input": {"command": command, "description": "run"}}


def step(agent: str, text: str, command: str | None = None, usage: dict | None = None) -> dict:
    content = [{"type": "text", "text": text}] + ([shell(agent, command)] if command else [])
    return {"content": content, **({"usage": usage} if usage else {})}


def session_file(folder: Path, agent: str, steps: list[dict], model: str | None = None) -> Path:
    path = folder / f"{agent}.session.json"
    path.write_text(json.dumps({"protocol": PROTOCOL[agent], "model": model or PRICED_MODEL[agent],
                                "side_replies": True, "steps": steps}))
    return path


def report_command(answers: dict) -> str:
    """A shell command that writes `answers` as /workspace/report.json (no quotes to escape)."""
    encoded = json.dumps(answers).encode().hex()
    return f"python3 -c \"import binascii; open('/workspace/report.json','wb').write(binascii.unhexlify('{encoded}'))\""


def run_cli(args: list[str], store: Path, suite: Path | None = None) -> tuple[dict, Path]:
    """`corebench [--suite SUITE] run ARGS --store STORE --quiet`; returns (the single task of
    `show --json`, the artifacts folder)."""
    head = ["--suite", str(suite)] if suite else []
    result = CliRunner().invoke(main, [*head, "run", *args, "--quiet", "--store", str(store)])
    assert result.exit_code == 0, result.output
    with open_store(store, create=False) as opened:
        (run,) = list_runs(opened)
        shown = show_json(opened, run.id)
        artifacts = opened.artifacts_dir
    (task,) = shown["tasks"]
    return task, artifacts
