"""A hung model never outlives the task: every model call ends at the task's deadline.

The Anthropic client is driven through the real SDK against the local Messages server scripted to
answer far too late (or to ask for a retry far too late); the OpenAI client through the real SDK
against a local server that accepts a request and never answers. The end-to-end test is a real run.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from corebench_runner.deadline import Deadline, DeadlineReached
from corebench_runner.models.openai_client import OpenAIClient
from corebench_runner.records import Outcome
from support_messages import anthropic_client, error, messages_server, reply, text  # noqa: F401

ASK = [{"role": "user", "content": "What is 6 x 7?"}]


def slow_reply(seconds: float) -> dict:
    return {**reply(text("42")), "delay": seconds}


def test_a_reply_far_slower_than_the_time_left_ends_the_call_at_the_deadline(messages_server):
    messages_server.add(slow_reply(300))
    client = anthropic_client(messages_server)
    client.bind_deadline(Deadline.after(3))
    started = time.monotonic()
    with pytest.raises(DeadlineReached) as info:
        client.complete("", ASK)
    assert 2.5 < time.monotonic() - started < 6
    assert info.value.outcome is Outcome.TIMEOUT and "wall-time limit (3 s)" in str(info.value)
    assert len(messages_server.requests) == 1  # the SDK's retries did not start the wait again


def test_a_retry_after_past_the_deadline_is_not_slept_through(messages_server):
    messages_server.add(*[error(529, "overloaded_error", retry_after=120)] * 3)
    client = anthropic_client(messages_server)
    client.bind_deadline(Deadline.after(3))
    started = time.monotonic()
    with pytest.raises(DeadlineReached):
        client.complete("", ASK)
    assert time.monotonic() - started < 5


def test_a_call_within_the_deadline_is_untouched_and_a_stopped_task_makes_no_more_calls(messages_server):
    messages_server.add(slow_reply(1), reply(text("again")))
    client = anthropic_client(messages_server)
    deadline = Deadline.after(30)
    client.bind_deadline(deadline)
    assert client.complete("", ASK).content == [{"type": "text", "text": "42"}]
    deadline.stop("the workspace passed its disk limit", Outcome.BUDGET_EXCEEDED)
    with pytest.raises(DeadlineReached) as info:
        client.complete("", ASK)
    assert info.value.outcome is Outcome.BUDGET_EXCEEDED and "disk limit" in str(info.value)
    assert len(messages_server.requests) == 1


class _Hang(BaseHTTPRequestHandler):
    """Reads a chat-completions request and never answers it."""

    protocol_version = "HTTP/1.1"
    release = threading.Event()
    seen: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802
        self.seen.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
        self.release.wait(300)

    def log_message(self, *args) -> None:
        pass


def test_the_openai_client_ends_a_hung_call_at_the_deadline():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hang)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = OpenAIClient("local-model", base_url=f"http://127.0.0.1:{server.server_address[1]}/v1")
        client.bind_deadline(Deadline.after(3))
        started = time.monotonic()
        with pytest.raises(DeadlineReached):
            client.complete("", ASK)
        assert 2.5 < time.monotonic() - started < 6
        assert len(_Hang.seen) == 1 and _Hang.seen[0]["model"] == "local-model"
    finally:
        _Hang.release.set()
        server.shutdown()
        server.server_close()


@pytest.mark.docker
def test_a_run_whose_model_hangs_ends_timeout_near_its_limit(tmp_path, monkeypatch):
    """The issue's case: a reply 10x slower than the limit; the task ends `timeout` near the limit."""
    from click.testing import CliRunner

    from corebench_runner.cli import main

    script = tmp_path / "hung.session.json"
    script.write_text(json.dumps({"model": "claude-haiku-4-5", "steps": [slow_reply(200)]}))
    store = str(tmp_path / "results.sqlite")
    started = time.monotonic()
    result = CliRunner().invoke(main, ["run", "--model", f"scripted:{script}", "--scaffold", "core-agent",
                                       "--capsules", "iris-lda", "--level", "hard", "--timeout", "12", "--quiet",
                                       "--store", store])
    took = time.monotonic() - started
    assert result.exit_code == 0, result.output
    run_id = json.loads(CliRunner().invoke(main, ["runs", "--json", "--store", store]).output)[0]["id"]
    shown = json.loads(CliRunner().invoke(main, ["show", run_id, "--json", "--store", store]).output)
    task = shown["tasks"][0]
    assert task["outcome"] == "timeout", task
    assert "wall-time limit (12 s)" in task["error"], task
    assert task["seconds"] < 18 and took < 50, (task["seconds"], took)
