"""Run an agent CLI (Claude Code) inside the task's container, behind the metering relay.

The container gets the relay's address and a random per-task token, never the API key:
the relay on the host checks the token, adds the key, forwards to the model API, meters
tokens and dollars, and refuses calls once the task's cap is spent. The CLI writes
report.json in the workspace like any agent; this module reads it back and builds the
Submission.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from typing import Any

from corebench_runner.agent_image import RUN_SCRIPT_IN_IMAGE
from corebench_runner.errors import UserError
from corebench_runner.models.base import ModelClient
from corebench_runner.models.pricing import find_price, load_prices
from corebench_runner.records import ExecResult, Limits, Outcome, Submission, TaskSpec, Usage
from corebench_runner.relay import CostFunction, MeteringRelay
from corebench_runner.sandbox.base import Sandbox
from corebench_runner.settings import load_settings

KEY_ENV = "ANTHROPIC_API_KEY"
BASE_URL_ENV = "ANTHROPIC_BASE_URL"
DEFAULT_BASE_URL = "https://api.anthropic.com"
PROMPT_FILE = "/tmp/corebench-task-prompt.txt"
TAIL_CHARS = 2000


def default_gateway(route_table: str) -> str | None:
    """The default gateway in /proc/net/route's format (hex, little-endian), as a dotted IP."""
    for line in route_table.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 2 and fields[1] == "00000000":
            raw = bytes.fromhex(fields[2])[::-1]
            return ".".join(str(b) for b in raw)
    return None


def host_address_seen_from(sandbox: Sandbox) -> str:
    """The host's address on the container's network: the container's default gateway."""
    result = sandbox.exec(["cat", "/proc/net/route"], timeout=30)
    gateway = default_gateway(result.stdout) if result.exit_code == 0 else None
    if gateway is None:
        raise UserError("the task container has no network route to the host, so the agent cannot reach the "
                        "model relay; run the command scaffold with the sandbox's network on (bridge)")
    return gateway


def upstream_of(model: ModelClient) -> tuple[str, str, str]:
    """(base URL, API key, model id) the relay forwards to; the key stays on the host."""
    base_url = getattr(model, "base_url", None) or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    # AnthropicClient keeps its key inside its SDK client (e.g. a scripted model's local key).
    sdk = getattr(model, "_sdk", None)
    api_key = getattr(model, "api_key", None) or getattr(sdk, "api_key", None) or os.environ.get(KEY_ENV, "")
    if not api_key:
        raise UserError(f"${KEY_ENV} is not set; the command scaffold needs a key for its relay to add")
    model_id = getattr(model, "model", None) or model.name.split(":", 1)[-1]
    return str(base_url).rstrip("/"), api_key, model_id


def price_lookup() -> CostFunction:
    prices = load_prices()

    def cost(model_id: str, usage: Usage) -> float | None:
        price = find_price(model_id, prices)
        return price.cost(usage) if price else None

    return cost


def _start_relay(base_url: str, api_key: str, limits: Limits, host: str, protocol: str = "anthropic-messages",
                 model_id: str | None = None) -> MeteringRelay:
    """A relay on the host's address on the container network (all addresses where that one cannot be bound,
    e.g. when the engine runs in a VM); the per-task token still guards it. Requests are pinned to model_id."""
    settings = dict(cost=price_lookup(), max_cost_usd=limits.max_cost_usd, max_tokens=limits.max_tokens,
                    ca_file=load_settings().ca_bundle, protocol=protocol, model=model_id)
    try:
        relay = MeteringRelay(base_url, api_key, host=host, **settings)
    except OSError:
        relay = MeteringRelay(base_url, api_key, host="0.0.0.0", **settings)
    return relay.start()


def _tail(text: str) -> str:
    return text if len(text) <= TAIL_CHARS else "..." + text[-TAIL_CHARS:]


def parse_stream_json(stdout: str) -> list[dict[str, Any]]:
    """Claude Code's --output-format stream-json: one JSON event per line; junk lines are kept as text."""
    events: list[dict[str, Any]] = []
    for line in stdout.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            event = {"type": "output", "text": line}
        events.append(event if isinstance(event, dict) else {"type": "output", "value": event})
    return events


def read_report(sandbox: Sandbox, task: TaskSpec) -> tuple[dict[str, Any] | None, Outcome | None, str | None]:
    """(answers, outcome, problem): the agent's report.json, or why there is none to grade."""
    try:
        raw = sandbox.read_file(task.report_path)
    except Exception:  # any sandbox's "no such file"
        return None, Outcome.NO_REPORT, f"the agent wrote no report at {task.report_path}"
    try:
        answers = json.loads(raw)
    except ValueError as exc:
        return None, Outcome.INVALID_REPORT, f"{task.report_path} is not valid JSON ({exc})"
    if not isinstance(answers, dict):
        return None, Outcome.INVALID_REPORT, (f"{task.report_path} must hold a JSON object {{question: answer}}, "
                                              f"not {type(answers).__name__}")
    return answers, None, None


def run_claude_code(task: TaskSpec, sandbox: Sandbox, model: ModelClient, limits: Limits,
                    extra_args: tuple[str, ...] = ()) -> Submission:
    """Run Claude Code once for `task` inside `sandbox` (an image built by agent_image)."""
    started = time.monotonic()
    base_url, api_key, model_id = upstream_of(model)
    if sandbox.exec(["test", "-x", RUN_SCRIPT_IN_IMAGE], timeout=60).exit_code != 0:
        return Submission(answers=None, outcome=Outcome.INFRA_ERROR, error=(
            f"the task container has no {RUN_SCRIPT_IN_IMAGE}: start it from the scaffold's image_for(task image) "
            "(the Claude Code layer), not from the task image itself"))
    sandbox.write_file(PROMPT_FILE, task.prompt)
    host = host_address_seen_from(sandbox)
    relay = _start_relay(base_url, api_key, limits, host, getattr(model, "protocol", "anthropic-messages"), model_id)
    if hasattr(sandbox, "allow_host_port"):  # the task network's firewall lets this container reach its relay only
        sandbox.allow_host_port(relay.port)
    env = {"ANTHROPIC_BASE_URL": f"http://{host}:{relay.port}", "ANTHROPIC_API_KEY": relay.token,
           "CBR_MODEL": model_id, "CBR_PROMPT_FILE": PROMPT_FILE, "CBR_WORKDIR": task.workspace_dir}
    command = ["env", *(f"{k}={v}" for k, v in env.items()), RUN_SCRIPT_IN_IMAGE, *extra_args]
    if limits.max_steps is not None:
        command += ["--max-turns", str(limits.max_steps)]
    try:
        result = sandbox.exec(command, timeout=limits.wall_seconds, workdir=task.workspace_dir)
    finally:
        relay.stop()
    submission = _submission(task, sandbox, relay, result, model_id, limits)
    submission.seconds = time.monotonic() - started
    return submission


def _submission(task: TaskSpec, sandbox: Sandbox, relay: MeteringRelay, result: ExecResult, model_id: str,
                limits: Limits) -> Submission:
    """Report, transcript, metered usage and, when the task ended early, why."""
    events = parse_stream_json(result.stdout)
    final = next((e for e in reversed(events) if e.get("type") == "result"), {})
    transcript: list[dict[str, Any]] = [{
        "type": "command", "agent": "claude-code", "model": model_id, "exit_code": result.exit_code,
        "timed_out": result.timed_out, "seconds": round(result.seconds, 3), "stderr_tail": _tail(result.stderr),
    }]
    transcript += [{"type": "agent_event", "event": e} for e in events]
    transcript += [{"type": "model_call", **asdict(call)} for call in relay.calls]
    answers, report_outcome, problem = read_report(sandbox, task)
    submission = Submission(answers=answers, transcript=transcript, usage=relay.usage,
                            steps=int(final.get("num_turns") or sum(1 for c in relay.calls if c.usage)))
    if relay.budget_exceeded.is_set():
        submission.outcome = Outcome.BUDGET_EXCEEDED
        submission.error = next((c.refused for c in reversed(relay.calls) if c.refused), "the budget is spent")
    elif problem and relay.upstream_failure:  # an outage is not the agent's failure
        submission.outcome = Outcome.INFRA_ERROR
        submission.error = f"the model API was unavailable ({relay.upstream_failure}); {problem}"
    elif result.timed_out:
        submission.outcome = Outcome.TIMEOUT
        submission.error = f"Claude Code ran past {limits.wall_seconds:g}s and was stopped"
    elif problem:
        submission.outcome = report_outcome
        submission.error = problem
        if result.exit_code != 0:
            submission.error += f"; Claude Code exited with code {result.exit_code}: " \
                                f"{_tail(str(final.get('result') or result.stderr or result.stdout))}"
    return submission
