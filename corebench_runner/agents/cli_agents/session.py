"""Run an agent CLI inside the task's container, behind the metering relay.

The container gets the relay's address and a random per-task token, never the API key: the
relay on the host checks the token, adds the key, forwards to the model API, meters tokens
and dollars, and refuses calls once the task's cap is spent. The agent's run script (from its
recipe) runs it once, non-interactively; when it ends without report.json, its own session is
resumed once with a short reminder. Its event stream, normalised (agents/cli_agents/normalise.py), is the
transcript: each line timed as it is read, and each relayed model call placed before the turn it caused.
"""

from __future__ import annotations

import inspect
import threading
import time
from dataclasses import asdict
from typing import Any, Callable

from corebench_runner.agents.cli_agents.normalise import AgentStream, normalise
from corebench_runner.agents.cli_agents.recipe import AgentRecipe
from corebench_runner.agents.image import RUN_SCRIPT_IN_IMAGE
from corebench_runner.agents.relay.start import price_lookup, start_relay, upstream_of  # noqa: F401 (price_lookup: re-exported)
from corebench_runner.errors import UserError
from corebench_runner.models.base import ModelClient
from corebench_runner.records import ExecResult, Limits, Outcome, Submission, TaskSpec
from corebench_runner.sandbox.base import Sandbox

PROMPT_FILE = "/tmp/corebench-agent-prompt.txt"
TAIL_CHARS = 2000
REMINDER = ("You ended without writing {report}. Write your answers there now, as one JSON object that maps "
            "each question's exact text to your answer; give your best estimate where you are unsure.")
# A shell's "command not found" / "cannot execute": the agent never started.
NOT_STARTED_CODES = (126, 127)
PID_FILE = "/tmp/corebench-agent.pid"  # written by the layer's enter-agent.sh
# After the relay refuses it for its budget, an agent gets this long to stop by itself (some retry).
STOP_GRACE_SECONDS = 10.0
MIN_RESUME_SECONDS = 30.0
# A line read this soon after a model call started was printed before it (the pipe from the container
# lags the relay a little; no model answers this fast): it goes before the call. Capped by the call's length.
LINE_LAG_SECONDS = 0.25


class LineClock:
    """Times each line of a stream as it is read, in seconds from `origin` (time.monotonic())."""

    def __init__(self, origin: float) -> None:
        self.origin = origin
        self.times: list[float] = []

    def heard(self, chunk: bytes) -> None:
        now = time.monotonic() - self.origin
        self.times += [now] * chunk.count(b"\n")


def exec_timed(sandbox: Sandbox, command: list[str], timeout: float | None, workdir: str,
               clock: LineClock) -> ExecResult:
    """The sandbox's exec, timing each line of its output as it comes (when the sandbox can tell)."""
    if "on_stdout" not in inspect.signature(sandbox.exec).parameters:  # a sandbox plugin that cannot
        return sandbox.exec(command, timeout=timeout, workdir=workdir)
    return sandbox.exec(command, timeout=timeout, workdir=workdir, on_stdout=clock.heard)


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
                        "model relay; run agent scaffolds with the sandbox's network on (bridge)")
    return gateway


def _tail(text: str) -> str:
    return text if len(text) <= TAIL_CHARS else "..." + text[-TAIL_CHARS:]


def report_written(sandbox: Sandbox, task: TaskSpec) -> bool:
    """Whether the agent wrote anything at task.report_path; what it wrote is the engine's to read."""
    return sandbox.exec(["test", "-f", task.report_path], timeout=60).exit_code == 0


def run_agent(recipe: AgentRecipe, task: TaskSpec, sandbox: Sandbox, model: ModelClient | None,
              limits: Limits, reminder: str = REMINDER) -> Submission:
    """Run `recipe`'s agent for `task` inside `sandbox` (an image built by agent_image). `reminder` ({report}
    is task.report_path) resumes an agent that ended without writing it; triage asks for another file."""
    if model is None:
        raise UserError(f"the {recipe.name} scaffold needs a model: pass --model "
                        f"{'openai' if recipe.api == 'openai' else 'anthropic'}:MODEL (or scripted:FILE)")
    started = time.monotonic()
    base_url, api_key, model_id = upstream_of(model, recipe.api)
    if sandbox.exec(["test", "-x", RUN_SCRIPT_IN_IMAGE], timeout=60).exit_code != 0:
        return Submission(answers=None, outcome=Outcome.INFRA_ERROR, error=(
            f"the task container has no {RUN_SCRIPT_IN_IMAGE}: start it from the scaffold's image_for(task image) "
            f"(the {recipe.name} layer), not from the task image itself"))
    host = host_address_seen_from(sandbox)
    # The engine's meter (models/metered.py) hears each relayed call as it happens, so a killed
    # process still leaves a usage row for every call the provider billed.
    relay = start_relay(recipe.api, base_url, api_key, limits, host, model_id, getattr(model, "record_call", None))
    sandbox.allow_host_port(relay.port)  # the task network's firewall lets this container reach its relay only
    env = {"CBR_BASE_URL": relay_url(recipe, host, relay.port), "CBR_TOKEN": relay.token, "CBR_MODEL": model_id,
           "CBR_PROMPT_FILE": PROMPT_FILE, "CBR_WORKDIR": task.workspace_dir,
           "CBR_MAX_TURNS": "" if limits.max_steps is None else str(limits.max_steps),
           "CBR_AGENT_USER": "" if recipe.root_ok else "agent"}
    # The task prompt opens the transcript, as core-agent's does: a reader starts from what the agent was asked.
    transcript: list[dict[str, Any]] = [{"type": "prompt", "user": task.prompt}]
    streams: list[AgentStream] = []
    placed = 0  # relay calls already written into the transcript
    try:
        for attempt in (1, 2):
            remaining = None if limits.wall_seconds is None else limits.wall_seconds - (time.monotonic() - started)
            if attempt == 2 and remaining is not None and remaining < MIN_RESUME_SECONDS:
                break  # too little time left for a reminder to be worth it
            prompt = task.prompt if attempt == 1 else reminder.format(report=task.report_path)
            if attempt == 2:
                transcript.append({"type": "reminder", "text": prompt, "attempt": attempt})
            sandbox.write_file(PROMPT_FILE, prompt)
            resume = streams[-1].session_id if streams else ""
            command = ["env", *(f"{k}={v}" for k, v in {**env, "CBR_RESUME": resume}.items()), RUN_SCRIPT_IN_IMAGE]
            clock = LineClock(started)
            result, stopped = _exec_until_capped(sandbox, relay, command, task.workspace_dir,
                                                 max(remaining or 0, 1) if remaining is not None else None,
                                                 limits.max_steps, clock)
            stream = normalise(recipe.transcript, result.stdout, clock.times)
            stream.stopped = stopped
            streams.append(stream)
            transcript.append(_command_event(recipe, model_id, result, attempt, resume))
            calls = relay.calls[placed:]
            placed += len(calls)
            transcript += with_model_calls(stream, [_call_event(call, started) for call in calls])
            if stopped:
                transcript.append({"type": "note", "text": f"{recipe.name} was {stopped}"})
            if not _should_resume(sandbox, task, relay, result, stream, attempt, limits):
                break
    finally:
        relay.stop()
    # Calls still streaming when the agent ended are recorded once the relay stops: they come last.
    transcript += [_call_event(call, started) for call in relay.calls[placed:]]
    submission = _submission(recipe, task, sandbox, relay, result, streams, transcript, limits)
    submission.seconds = time.monotonic() - started
    return submission


def _call_event(call: Any, origin: float) -> dict[str, Any]:
    """A relay call as a transcript event, its time `t` in seconds from the task's start (as core-agent's)."""
    event = {"type": "model_call", **asdict(call)}
    event["t"] = round(max(0.0, event.pop("started") - origin), 3)
    return event


def with_model_calls(stream: AgentStream, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The agent's events with each model call placed before the turn it caused.

    Where the stream marks where each model call's output begins (`call_starts`: Claude Code, OpenCode),
    the relay's answered calls are matched to those marks in order; refused or failed calls caused no
    turn: each goes before the next answered call. Where it does not (Codex), or the counts differ (an
    agent that makes calls it does not show), each call goes before the first line read after it started
    (`LINE_LAG_SECONDS` allowing for the pipe). Events keep the time their line was read; an event with
    no time (a stream whose lines were not timed) takes the time its call ended in the first case.
    Without times or marks, nothing is guessed: the calls follow the stream, in time order.
    """
    def is_answered(call: dict[str, Any]) -> bool:
        return call.get("status") == 200 and not call.get("refused")

    if stream.call_starts and sum(map(is_answered, calls)) == len(stream.call_starts):
        return _at_marks(stream, calls, is_answered)
    if stream.events and all(isinstance(e, dict) and isinstance(e.get("t"), (int, float)) for e in stream.events):
        return _by_time(stream.events, calls)
    return stream.events + calls


def _at_marks(stream: AgentStream, calls: list[dict[str, Any]], is_answered: Callable[[dict[str, Any]], bool]
              ) -> list[dict[str, Any]]:
    before: dict[int, list[dict[str, Any]]] = {}
    turn_time: dict[int, float] = {}
    turn = 0
    for call in calls:
        position = stream.call_starts[turn] if turn < len(stream.call_starts) else len(stream.events)
        before.setdefault(position, []).append(call)
        if is_answered(call) and turn < len(stream.call_starts):
            turn_time[position] = round(call["t"] + (call.get("seconds") or 0.0), 3)
            turn += 1
    out: list[dict[str, Any]] = []
    now: float | None = None
    for index, event in enumerate(stream.events):
        out += before.get(index, [])
        now = turn_time.get(index, now)
        out.append({**event, "t": now} if now is not None and isinstance(event, dict) and "t" not in event
                   else event)
    return out + before.get(len(stream.events), [])


def _by_time(events: list[dict[str, Any]], calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events (each with the time its line was read) and calls merged in time: a call before the first
    line read after it started, less the pipe's lag (never more than the call lasted)."""
    def opens(call: dict[str, Any]) -> float:
        return call["t"] + min(LINE_LAG_SECONDS, call.get("seconds") or 0.0)

    waiting = sorted(calls, key=lambda call: call["t"])  # the relay lists calls as they end
    out: list[dict[str, Any]] = []
    for event in events:
        while waiting and opens(waiting[0]) <= event["t"]:
            out.append(waiting.pop(0))
        out.append(event)
    return out + waiting


def _exec_until_capped(sandbox: Sandbox, relay: Any, command: list[str], workdir: str, timeout: float | None,
                       max_steps: int | None, clock: LineClock) -> tuple[ExecResult, str]:
    """Run the agent, and stop it (its process group) when it does not stop by itself: 10 s after the
    relay refused it for its budget (OpenCode, for one, retries a refused call for minutes), or at
    once past its step limit (Codex has none of its own; OpenCode's asks the model to stop, one more
    call). Returns (result, why it was stopped, or "")."""
    finished = threading.Event()
    why: list[str] = []

    def stop() -> None:
        # dash's kill takes -PGID, not "--"; enter-agent.sh wrote the group's id.
        sandbox.exec(["sh", "-c", f"kill -TERM -$(cat {PID_FILE}) 2>/dev/null; sleep 3; "
                                  f"kill -KILL -$(cat {PID_FILE}) 2>/dev/null; true"], timeout=30)

    def watch() -> None:
        while not finished.wait(0.25):
            if relay.budget_exceeded.is_set():
                if not finished.wait(STOP_GRACE_SECONDS):
                    why.append(f"stopped {STOP_GRACE_SECONDS:g}s after the relay refused it for its budget")
                    stop()
                return
            if max_steps is not None and _model_steps(relay) > max_steps + 1:
                why.append(f"stopped past its step limit ({max_steps} steps)")
                stop()
                return

    watcher = threading.Thread(target=watch, name="agent-stop", daemon=True)
    watcher.start()
    try:
        return exec_timed(sandbox, command, timeout, workdir, clock), "".join(why)
    finally:
        finished.set()
        watcher.join(timeout=60)


def relay_url(recipe: AgentRecipe, host: str, port: int) -> str:
    # OpenAI clients append paths to a base that ends in /v1; Anthropic's add /v1 themselves.
    return f"http://{host}:{port}" + ("/v1" if recipe.api == "openai" else "")


def _command_event(recipe: AgentRecipe, model_id: str, result: ExecResult, attempt: int, resume: str) -> dict:
    return {"type": "command", "agent": recipe.name, "version": recipe.version, "model": model_id,
            "attempt": attempt, "resumed_session": resume or None, "exit_code": result.exit_code,
            "timed_out": result.timed_out, "seconds": round(result.seconds, 3), "stderr_tail": _tail(result.stderr)}


def _should_resume(sandbox: Sandbox, task: TaskSpec, relay: Any, result: ExecResult, stream: AgentStream,
                   attempt: int, limits: Limits) -> bool:
    """Once, when the agent ended on its own without a report and can be continued."""
    if attempt > 1 or result.timed_out or relay.budget_exceeded.is_set() or _upstream_failure(relay):
        return False
    if not stream.session_id or not relay.calls:
        return False
    if limits.max_steps is not None and _model_steps(relay) >= limits.max_steps:
        return False  # it used its steps: a reminder would give it more than the limit
    return not report_written(sandbox, task)


def _model_steps(relay: Any) -> int:
    """Model calls the relay metered: the agent's steps (its side calls, such as titles, included)."""
    return sum(1 for call in relay.calls if call.usage)


def _upstream_failure(relay: Any) -> str | None:
    """Why the model API failed the relay's last model call (an outage), or None."""
    return relay.upstream_failure


def _submission(recipe: AgentRecipe, task: TaskSpec, sandbox: Sandbox, relay: Any, result: ExecResult,
                 streams: list[AgentStream], transcript: list[dict[str, Any]], limits: Limits) -> Submission:
    """Metered usage and, when the agent ended the task early, why; with no report, how the agent ended."""
    submission = Submission(answers=None, transcript=transcript, usage=relay.usage,
                            steps=_model_steps(relay) or sum(s.turns for s in streams))
    unreported = not report_written(sandbox, task)
    failure = _upstream_failure(relay)
    last = streams[-1]
    if relay.budget_exceeded.is_set():
        submission.outcome = Outcome.BUDGET_EXCEEDED
        # The call that spent the budget may end the task before any later call is refused: its reason then.
        submission.error = next((c.refused for c in reversed(relay.calls) if c.refused),
                                relay.exceeded_reason or "the budget is spent")
    elif unreported and failure:  # an outage is not the agent's failure, even when it ran out the clock retrying
        submission.outcome = Outcome.INFRA_ERROR
        submission.error = f"the model API was unavailable ({failure}); the agent wrote no report at {task.report_path}"
    elif result.timed_out:
        submission.outcome = Outcome.TIMEOUT
        submission.error = f"{recipe.name} ran past {limits.wall_seconds:g}s and was stopped"
    elif unreported and not relay.calls and (result.exit_code in NOT_STARTED_CODES or
                                             (not last.events and result.exit_code != 0)):
        submission.outcome = Outcome.INFRA_ERROR
        submission.error = (f"the {recipe.label} agent did not start (exit code {result.exit_code}); its log, "
                            f"in the task's transcript: {_tail(result.stderr or result.stdout).strip()[:500]}")
    elif unreported and last.stopped:  # the engine, finding no report, says so first
        submission.error = f"{recipe.name} was {last.stopped}"
    elif unreported and result.exit_code != 0:
        submission.error = (f"{recipe.name} exited with code {result.exit_code}: "
                            f"{_tail(last.final_text or result.stderr or '(no message)').strip()[-500:]}")
    return submission
