"""Helpers for tests that talk to a model: a local Messages API server and scripted steps.

The server (corebench_scripted.messages_api.MessagesServer) speaks the real HTTP wire
protocol, so tests use the real `anthropic` SDK pointed at it. Typical use:

    from support_messages import messages_server, anthropic_client, reply, tool_use, text, error

    def test_something(messages_server):
        messages_server.add(reply(tool_use("bash", command="ls")), reply(text("done")))
        client = anthropic_client(messages_server)
        ...
        body = messages_server.requests[-1].body        # what the client sent
        assert tool_results(body)[0]["content"] ...     # what the agent saw from its tools

Steps are plain dicts (the same JSON a `--model scripted:FILE` script holds), so a test can
also write them to a file with write_script().
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from corebench_runner.models.anthropic_client import AnthropicClient
from corebench_scripted.messages_api import MessagesServer

TEST_KEY = "sk-ant-test-local-only"
PRICED_MODEL = "claude-haiku-4-5"  # has a price in data/prices.toml, so cost limits can bite


@pytest.fixture
def messages_server():
    """A running server with an empty script that requires TEST_KEY; stopped after the test."""
    with MessagesServer(api_key=TEST_KEY) as server:
        yield server


def anthropic_client(server: MessagesServer, model: str = PRICED_MODEL, **options: Any) -> AnthropicClient:
    """The real client (real SDK, real HTTP) pointed at the local server, with quick retries."""
    options.setdefault("max_retries", 3)
    return AnthropicClient(model, api_key=TEST_KEY, base_url=server.url, **options)


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(name: str, **tool_input: Any) -> dict[str, Any]:
    """A tool_use block; the server gives it an id."""
    return {"type": "tool_use", "name": name, "input": tool_input}


def reply(*blocks: dict[str, Any], stop_reason: str | None = None, usage: dict[str, int] | None = None
          ) -> dict[str, Any]:
    """A scripted assistant reply. Without usage, the server computes it (cache-aware)."""
    step: dict[str, Any] = {"content": list(blocks)}
    if stop_reason:
        step["stop_reason"] = stop_reason
    if usage:
        step["usage"] = usage
    return step


def error(status: int, kind: str, message: str = "scripted failure", retry_after: float | None = None
          ) -> dict[str, Any]:
    """A scripted error response, e.g. error(529, "overloaded_error", retry_after=1)."""
    err: dict[str, Any] = {"status": status, "type": kind, "message": message}
    if retry_after is not None:
        err["retry_after"] = retry_after
    return {"error": err}


def write_script(path: Path, steps: list[dict[str, Any]], model: str = "scripted") -> Path:
    path.write_text(json.dumps({"model": model, "steps": steps}, indent=2))
    return path


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool_result blocks of the last message of a recorded request body."""
    content = body["messages"][-1]["content"]
    return [b for b in content if isinstance(content, list) and b.get("type") == "tool_result"]


def result_text(block: dict[str, Any]) -> str:
    """The text of a tool_result block (its content may be a string or a list of blocks)."""
    content = block["content"]
    return content if isinstance(content, str) else "\n".join(p["text"] for p in content if p["type"] == "text")
