"""What prompt caching saves on a long agent loop: one scripted 30-step session, twice.

core-agent plays the same 30-step session (29 commands with real output, then a submit)
against the local Messages API server, once with cache_control breakpoints and once
without. The server bills cache writes and reads the way the API does, so the input side
of the bill can be compared. Billed input is in input-token equivalents at the API's
multipliers: a cache write costs 1.25x an input token, a cache read 0.1x.
The same session then plays on the OpenAI path (Responses API, against the local OpenAI
server), whose caching is automatic: cached input is read at 0.1x and nothing is written.

    .venv/bin/python benchmarks/prompt_caching.py        # goal: ratio <= 0.3
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from corebench_runner.capsules.plugins import load_plugin
from corebench_runner.models.anthropic_client import AnthropicClient
from corebench_runner.models.openai_client import OpenAIClient
from corebench_runner.models.pricing import find_price, load_prices
from corebench_runner.records import Limits, TaskSpec, Usage
from corebench_runner.sandbox.base import SandboxSpec
from corebench_runner.sandbox.factory import open_sandbox
from corebench_scripted.messages_api import MessagesServer
from corebench_scripted.openai_api import OpenAIServer

STEPS = 30
MODEL = "claude-haiku-4-5"
OPENAI_MODEL = "gpt-5-mini"
KEY = "benchmark-local-key"
QUESTION = "How many lines does the last listing have?"
CACHE_WRITE_MULTIPLIER, CACHE_READ_MULTIPLIER = 1.25, 0.10
GOAL = 0.3


def session() -> list[dict]:
    steps = [{"content": [{"type": "text", "text": f"Step {n}: listing the next range to inspect it."},
                          {"type": "tool_use", "name": "bash", "input": {"command": f"seq {n * 1000} {n * 1000 + 120}"}}]}
             for n in range(STEPS - 1)]
    return steps + [{"content": [{"type": "tool_use", "name": "submit", "input": {"answers": {QUESTION: 121}}}]}]


def play(prompt_caching: bool, protocol: str = "anthropic-messages") -> Usage:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the local sandbox warns that it is no sandbox; this is a benchmark
        sandbox = open_sandbox("local", SandboxSpec(image="none"))
    openai_path = protocol == "openai-responses"
    with sandbox, (OpenAIServer if openai_path else MessagesServer)(session(), api_key=KEY) as server:
        task = TaskSpec(capsule_id="benchmark", level="hard", prompt=f"Inspect the ranges, then answer: {QUESTION}",
                        questions=(QUESTION,), vision_questions=(), workspace_dir=sandbox.workdir,
                        report_path=str(Path(sandbox.workdir) / "report.json"))
        if openai_path:
            model = OpenAIClient(OPENAI_MODEL, api_key=KEY, base_url=server.base_url, api="responses")
        else:
            model = AnthropicClient(MODEL, api_key=KEY, base_url=server.url, prompt_caching=prompt_caching)
        submission = load_plugin("scaffolds", "core-agent").run(task, sandbox, model, Limits(max_steps=STEPS))
        model.close()
    if submission.steps != STEPS or submission.answers is None:
        sys.exit(f"the session did not play out ({submission.steps} steps, outcome {submission.outcome})")
    return submission.usage


def billed_input(usage: Usage) -> float:
    return (usage.input_tokens + CACHE_WRITE_MULTIPLIER * usage.cache_creation_input_tokens
            + CACHE_READ_MULTIPLIER * usage.cache_read_input_tokens)


def main() -> None:
    price = find_price(MODEL, load_prices())
    rows = [("without caching", play(False)), ("with caching", play(True))]
    print(f"{STEPS}-step core-agent session against the local Messages API server ({MODEL} prices)\n")
    print(f"{'':16} {'input':>9} {'cache write':>12} {'cache read':>11} {'billed input':>13} {'input $':>9}")
    for label, usage in rows:
        dollars = (usage.input_tokens * price.input + usage.cache_creation_input_tokens * price.cache_write
                   + usage.cache_read_input_tokens * price.cache_read) / 1e6
        print(f"{label:16} {usage.input_tokens:>9} {usage.cache_creation_input_tokens:>12} "
              f"{usage.cache_read_input_tokens:>11} {billed_input(usage):>13.0f} {dollars:>9.4f}")
    ratio = billed_input(rows[1][1]) / billed_input(rows[0][1])
    print(f"\nbilled input, cached / uncached: {ratio:.3f}  (goal <= {GOAL}: {'met' if ratio <= GOAL else 'NOT met'})")
    openai = play(True, "openai-responses")
    share = billed_input(openai) / (openai.input_tokens + openai.cache_read_input_tokens)
    print(f"\nOpenAI Responses ({OPENAI_MODEL}), automatic caching: {openai.input_tokens} input, "
          f"{openai.cache_read_input_tokens} cached; billed input / uncached: {share:.3f} "
          f"(goal <= {GOAL}: {'met' if share <= GOAL else 'NOT met'})")


if __name__ == "__main__":
    main()
