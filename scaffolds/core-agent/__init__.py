"""core-agent: a tool-using loop (bash, file view/edit/create, image view, submit) on the host.

The model is called on the host; every tool acts inside the sandbox, so the API key never
enters the container. The loop ends on an accepted submit, on a limit (steps or wall time:
timeout; tokens or dollars: budget_exceeded), when the model stops without submitting after
reminders, or when the model API stays unreachable (infra_error). The transcript records
every message, tool call, output, image, timing and usage (shape: docs/models.md).
"""

from __future__ import annotations

import time
from typing import Any

from corebench_runner.agents.context import CONTEXT_BUDGET_TOKENS, elide_old_outputs
from corebench_runner.agents.contract import ScaffoldBase
from corebench_runner.agents.core_agent.tools import TOOL_SPECS, Toolbox
from corebench_runner.deadline import DeadlineReached
from corebench_runner.errors import UserError
from corebench_runner.models.base import ModelClient
from corebench_runner.models.errors import ModelUnavailable
from corebench_runner.records import Limits, Outcome, Submission, TaskSpec, Usage
from corebench_runner.sandbox.base import Sandbox

MAX_OUTPUT_TOKENS = 8192
REMINDERS = 2  # times the agent is asked to submit after it stops without doing so

SYSTEM_PROMPT = """You are an expert research engineer reproducing the results of a scientific paper from its \
code and data. You work in a Linux container through tools: bash runs commands, view_file / create_file / \
edit_file handle text files, view_image shows you a figure, and submit hands in your answers.

Work step by step: explore the workspace, read the code, install what is missing, run it, and read the \
outputs (figures too: view them). Answer from what the code actually produces. When you have every answer, \
call submit once with an object whose keys are exactly the questions asked, copied verbatim, and whose values \
are your answers (numbers as numbers). If submit says keys are missing or unknown, fix them and submit again."""

REMINDER = ("You have not submitted yet. Call the submit tool with an object whose keys are exactly the questions "
            "asked; give your best answers if you could not finish.")


class _Session:
    """One task: the conversation, the transcript, the counters and the limits."""

    def __init__(self, task: TaskSpec, sandbox: Sandbox, model: ModelClient, limits: Limits,
                 context_budget_tokens: int) -> None:
        self.task, self.model, self.limits = task, model, limits
        self.context_budget_tokens = context_budget_tokens
        self.toolbox = Toolbox(sandbox, task)
        self.started = time.monotonic()
        self.transcript: list[dict[str, Any]] = []
        self.usage = Usage()
        self.steps = 0
        self.answers: dict[str, Any] | None = None
        self.warned_unpriced = False

    def now(self) -> float:
        return round(time.monotonic() - self.started, 3)

    def seconds_left(self) -> float | None:
        return None if self.limits.wall_seconds is None else self.limits.wall_seconds - (time.monotonic() - self.started)

    def log(self, event_type: str, **fields: Any) -> None:
        self.transcript.append({"type": event_type, "t": self.now(), **fields})

    def limit_reached(self) -> tuple[Outcome, str] | None:
        limits, usage = self.limits, self.usage
        tokens = (usage.input_tokens + usage.output_tokens + usage.cache_creation_input_tokens
                  + usage.cache_read_input_tokens)
        if limits.max_steps is not None and self.steps >= limits.max_steps:
            return Outcome.TIMEOUT, f"reached the step limit ({limits.max_steps} model calls)"
        left = self.seconds_left()
        if left is not None and left <= 0:
            return Outcome.TIMEOUT, f"reached the wall-time limit ({limits.wall_seconds:g} s)"
        if limits.max_tokens is not None and tokens >= limits.max_tokens:
            return Outcome.BUDGET_EXCEEDED, f"reached the token limit ({tokens} of {limits.max_tokens})"
        if limits.max_cost_usd is not None:
            if usage.cost_usd is None:
                if not self.warned_unpriced:
                    self.warned_unpriced = True
                    self.log("note", text=f"the price of {self.model.name} is unknown: the dollar limit "
                                          "cannot be enforced (the token and step limits still apply)")
            elif usage.cost_usd >= limits.max_cost_usd:
                return Outcome.BUDGET_EXCEEDED, (f"reached the cost limit (${usage.cost_usd:.4f} of "
                                                 f"${limits.max_cost_usd:g})")
        return None

    def run(self) -> Submission:
        messages: list[dict[str, Any]] = [{"role": "user", "content": self.task.prompt}]
        self.log("prompt", system=SYSTEM_PROMPT, user=self.task.prompt, tools=[t["name"] for t in TOOL_SPECS])
        reminders = 0
        try:
            while True:
                reached = self.limit_reached()
                if reached:
                    return self.finish(*reached)
                elided = elide_old_outputs(messages, self.context_budget_tokens)
                if elided:
                    self.log("note", text=f"elided {elided} old tool outputs to stay within the context window")
                call_started = time.monotonic()
                response = self.model.complete(SYSTEM_PROMPT, messages, TOOL_SPECS, max_tokens=MAX_OUTPUT_TOKENS)
                self.steps += 1
                self.usage.add(response.usage)
                self.log("model_call", step=self.steps, seconds=round(time.monotonic() - call_started, 3),
                         stop_reason=response.stop_reason, usage=vars(response.usage).copy(),
                         content=response.content)
                # An empty assistant turn is refused by the API, so keep a placeholder.
                messages.append({"role": "assistant",
                                 "content": response.content or [{"type": "text", "text": "(no reply)"}]})
                tool_uses = [b for b in response.content if b.get("type") == "tool_use"]
                if not tool_uses:
                    if reminders >= REMINDERS:
                        return self.finish(None, "the agent stopped without submitting")
                    reminders += 1
                    self.log("reminder", text=REMINDER)
                    messages.append({"role": "user", "content": REMINDER})
                    continue
                messages.append({"role": "user", "content": [self.use_tool(block) for block in tool_uses]})
                if self.answers is not None:
                    return self.finish(None, "submitted")
        except ModelUnavailable as exc:
            return self.finish(Outcome.INFRA_ERROR, f"model API unavailable: {exc}")
        except DeadlineReached as exc:  # the task's deadline ended a model call, or the sandbox stopped the task
            return self.finish(exc.outcome, str(exc))
        except UserError:
            raise  # e.g. a rejected key: retrying or scoring cannot help; the user must act
        except Exception as exc:  # a failing sandbox (container gone, engine down) is infrastructure, not the agent
            return self.finish(Outcome.INFRA_ERROR, f"{type(exc).__name__}: {exc}")

    def use_tool(self, block: dict[str, Any]) -> dict[str, Any]:
        started = time.monotonic()
        result = self.toolbox.run(block["name"], block.get("input"), self.seconds_left())
        output = result.content if isinstance(result.content, str) else \
            "\n".join(part["text"] for part in result.content if part["type"] == "text")
        event = {"id": block.get("id"), "name": block["name"], "input": block.get("input"), "output": output,
                 "is_error": result.is_error, "seconds": round(time.monotonic() - started, 3), **result.event}
        image = event.pop("bytes_b64", None)
        self.log("tool_call", step=self.steps, **event)
        if image is not None:
            self.log("image", step=self.steps, path=event["path"], media_type=event["media_type"], bytes_b64=image)
        if result.accepted_answers is not None:
            self.answers = result.accepted_answers
        return {"type": "tool_result", "tool_use_id": block["id"], "content": result.content,
                "is_error": result.is_error}

    def finish(self, outcome: Outcome | None, reason: str) -> Submission:
        """What the agent did; report.json, submitted or written by hand, is the engine's to read."""
        self.log("end", outcome=outcome.value if outcome else None, reason=reason, steps=self.steps)
        return Submission(answers=self.answers, transcript=self.transcript, usage=self.usage, outcome=outcome,
                          error=reason if outcome is not None else None, seconds=self.now(), steps=self.steps)


class CoreAgent(ScaffoldBase):
    name = "core-agent"
    version = "1.0.0"
    needs_model = True

    def __init__(self, context_budget_tokens: int = CONTEXT_BUDGET_TOKENS) -> None:
        self.context_budget_tokens = context_budget_tokens

    def run(self, task: TaskSpec, sandbox: Sandbox, model: ModelClient | None, limits: Limits) -> Submission:
        if model is None:
            raise ValueError("core-agent needs a model client (--model)")
        return _Session(task, sandbox, model, limits, self.context_budget_tokens).run()


SCAFFOLD = CoreAgent()
