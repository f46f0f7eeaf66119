"""A person's session on a task: the same container a run's task gets, with an interactive shell.

`corebench session CAPSULE --person NAME` is recorded as a run of one task whose scaffold is
`human` (or `human+AGENT` with `--with-agent`): planned, graded, diagnosed and reviewed by the
same machinery as any run (run.py's execute_run, with this module's worker in place of a
scaffold's). The worker builds the workspace and the sandbox exactly as running/task.py does
(levels.prepare, sandbox_spec, open_for), puts the session's shell files in
(running/session_shell.py), and hands the terminal to the engine's `exec -it` until the person types
`submit`, leaves the shell, or the time limit ends it. With an agent, the agent's layer is on the
image and its metering relay (agents/relay/start.py) runs on the host for the length of the session: the
person drives the agent with `ask-agent "..."` (or the agent's own CLI); the key never enters.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from corebench_runner import __version__
from corebench_runner.agents.cli_agents.normalise import normalise
from corebench_runner.capsules import levels
from corebench_runner.capsules.format import Capsule
from corebench_runner.capsules.suite import Suite
from corebench_runner.errors import UserError
from corebench_runner.records import Outcome, Submission, Usage
from corebench_runner.running import session_shell
from corebench_runner.running.confidence import read_confidence
from corebench_runner.running.folders import TASK_FOLDER_PREFIX
from corebench_runner.running.outputs import read_outputs
from corebench_runner.running.run import ExecutionOptions, RunOptions, execute_run, new_run_id, select_capsules
from corebench_runner.running.sandboxing import authoring_gpu, open_for, sandbox_spec
from corebench_runner.running.task import Attempt, TaskJob
from corebench_runner.sandbox.labels import run_labels
from corebench_runner.sandbox.providers import provider_for
from corebench_runner.store.database import Store, create_run
from corebench_runner.store.results import RunSummary

HUMAN = "human"
AGENTS = ("claude-code", "codex", "opencode")
SESSION_GRADER = "tolerant"


def scaffold_name(agent: str | None) -> str:
    """The run's scaffold: `human`, or `human+AGENT` for a person driving an agent."""
    return HUMAN if agent is None else f"{HUMAN}+{agent}"


def agent_of(scaffold: str) -> str | None:
    return scaffold.partition("+")[2] or None


def is_session(scaffold: str) -> bool:
    return scaffold == HUMAN or scaffold.startswith(HUMAN + "+")


def start_session(store: Store, suite: Suite, capsule_id: str, level: str, person: str, agent: str | None = None,
                  model: str | None = None, time_limit: float | None = None, max_cost: float | None = None,
                  study: str | None = None, sandbox: str = "docker") -> tuple[str, RunSummary]:
    """Plan the session as a run of one task, run it on this terminal, grade and record it."""
    if not person.strip():
        raise UserError("--person: name the person taking the session (e.g. --person alice)")
    if agent is not None and agent not in AGENTS:
        raise UserError(f"--with-agent: unknown agent {agent!r}; use one of {', '.join(AGENTS)}")
    if agent is not None and not model:
        raise UserError(f"--with-agent {agent} needs --model (e.g. anthropic:claude-opus-5-5, or scripted:FILE)")
    if agent is None and model:
        raise UserError("--model is for the agent of --with-agent; a session without an agent has no model")
    provider_for(sandbox).terminal_program()  # the engine's command line opens the shell: one line if it cannot
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UserError("corebench session needs a terminal: run it in a shell (or tmux), not with its input piped")
    [capsule], _ = select_capsules(suite, [capsule_id], level)
    authoring_gpu(capsule, sandbox)  # a capsule that requires a GPU the host lacks: one line, before anything is planned
    scaffold = scaffold_name(agent)
    options = RunOptions(model=model or "none", scaffold=scaffold, level=level, capsule_ids=(capsule.id,),
                         grader=SESSION_GRADER, timeout=time_limit, max_steps=None, max_cost_per_task=max_cost,
                         infra_retries=0, sandbox=sandbox)
    if agent is not None:
        _check_agent_model(options, suite, agent)
    run_id = _plan(store, suite, options, capsule, person, study)
    execution = ExecutionOptions(concurrency=1, quiet=True)
    summary = execute_run(store, run_id, options, suite, execution, worker=run_session_task)
    return run_id, summary


def _check_agent_model(options: RunOptions, suite: Suite, agent: str) -> None:
    from corebench_runner.agents.contract import load_scaffold
    from corebench_runner.running.run import check_model

    check_model(options.__class__(**{**asdict(options), "scaffold": agent}), load_scaffold(agent, suite.root))


def _plan(store: Store, suite: Suite, options: RunOptions, capsule: Capsule, person: str, study: str | None) -> str:
    run_id = new_run_id()
    config = {"options": asdict(options), "suite_root": str(suite.root),
              "capsule_hashes": {capsule.id: capsule.content_hash()}, "execution": asdict(ExecutionOptions(1)),
              "benchmarks": {capsule.id: capsule.benchmark.label},
              "session": {"person": person.strip(), "agent": agent_of(options.scaffold), "study": study}}
    create_run(store, run_id, model=options.model, scaffold=options.scaffold, scaffold_version=__version__,
               level=options.level, grader=options.grader, engine_version=__version__, host=socket.gethostname(),
               config=config, tasks=[(capsule.id, 0, capsule.content_hash())])
    return run_id


def run_session_task(job: TaskJob, services: Any = None) -> Attempt:
    """The worker of a session: the task's container, the person's shell in it, then what they handed in.
    (A person is stopped by their own shell: the run's services are not needed.)"""
    suite = Suite(Path(job.suite_root))
    capsule = suite.load(job.capsule_id)
    agent = agent_of(job.scaffold)
    recipe = _recipe(agent) if agent else None
    image = _image(capsule, job.level, recipe, job.sandbox_kind)
    wall = job.limits.wall_seconds or float(capsule.resources.time_limit)
    # A GPU as a check or a reproduction gets one: when the host has it (a capsule that requires one, else refused).
    spec = sandbox_spec(capsule, image, run_labels(job.run_id, job.task_id),
                        gpu=authoring_gpu(capsule, job.sandbox_kind), wall_seconds=wall)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TASK_FOLDER_PREFIX}{os.getpid()}-"))
    relay = model = None
    try:
        workspace = levels.prepare(capsule, job.level, tmp / "workspace")
        sandbox, task = open_for(job.sandbox_kind, spec, workspace)
        try:
            in_shell = None
            if recipe is not None:
                relay, model, in_shell = _start_agent(job, recipe, sandbox, task.workspace_dir)
            started = time.time()
            for path, (content, mode) in session_shell.session_files(
                    task.prompt, int(started + wall), task.report_path, task.workspace_dir, in_shell).items():
                sandbox.write_file(path, content)
                if mode & 0o111:
                    sandbox.exec(["chmod", "a+x", path], timeout=30)
            print(f"corebench session: {capsule.id} at level {job.level}, {wall / 60:g} minutes; "
                  f"type `submit` when report.json is written", flush=True)
            user = spec.user or "root"
            env = {"TERM": os.environ.get("TERM", "xterm"), "CB_DIR": session_shell.SESSION_DIR}
            terminal = provider_for(job.sandbox_kind).terminal_command(
                sandbox, user, task.workspace_dir, env, session_shell.shell_command(int(wall)))
            subprocess.run(terminal, check=False)
            seconds = time.time() - started
            submission = _submission(sandbox, task.prompt, started, seconds, wall, recipe, relay)
            attempt = Attempt(job=job, submission=submission, details={"person_session": True, "image": image})
            read_outputs(sandbox, task, attempt, tmp)
            read_confidence(sandbox, task, attempt)
            return attempt
        finally:
            if relay is not None:
                relay.stop()
            if model is not None:
                model.close()
            sandbox.close()
            sandbox.wait_closed()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _recipe(agent: str) -> Any:
    from corebench_runner.agents.cli_agents.recipe import bundled_recipe

    return bundled_recipe(agent)


def _image(capsule: Capsule, level: str, recipe: Any, sandbox_kind: str) -> str:
    """The session's image, built (when missing) by the engine the session runs on."""
    from corebench_runner import images
    from corebench_runner.images.engine import images_on

    with images_on(sandbox_kind):
        image = images.environment_image(capsule) if level == "medium" else images.toolbox_image()
        if recipe is None:
            return image
        from corebench_runner.agents.image import agent_image

        return agent_image(image, recipe)


def _start_agent(job: TaskJob, recipe: Any, sandbox: Any, workdir: str) -> tuple[Any, Any, Any]:
    """The agent's relay on the host and the environment its run script reads in the session's shell."""
    from corebench_runner.agents.cli_agents.session import host_address_seen_from, relay_url
    from corebench_runner.agents.relay.start import start_relay, upstream_of
    from corebench_runner.models.factory import make_model

    model = make_model(job.model, base_url=job.model_base_url, capsule_id=job.capsule_id)
    base_url, api_key, model_id = upstream_of(model, recipe.api)
    host = host_address_seen_from(sandbox)
    relay = start_relay(recipe.api, base_url, api_key, job.limits, host, model_id)
    sandbox.allow_host_port(relay.port)
    url = relay_url(recipe, host, relay.port)
    env = {"CBR_BASE_URL": url, "CBR_TOKEN": relay.token, "CBR_MODEL": model_id, "CBR_WORKDIR": workdir,
           "CBR_MAX_TURNS": "", "CBR_AGENT_USER": "" if recipe.root_ok else "agent"}
    # For driving the agent's own CLI by hand: the provider's variables point at the relay, with its token.
    if recipe.api == "anthropic":
        env.update(ANTHROPIC_BASE_URL=url, ANTHROPIC_API_KEY=relay.token)
    else:
        env.update(OPENAI_BASE_URL=url, OPENAI_API_KEY=relay.token)
    return relay, model, session_shell.AgentInShell(name=recipe.name, env=env)


def _read(sandbox: Any, path: str) -> bytes:
    try:
        return sandbox.read_file(path)
    except Exception:  # never written (the shell never started)
        return b""


def _submission(sandbox: Any, prompt: str, started: float, seconds: float, wall: float, recipe: Any,
                relay: Any) -> Submission:
    marks = session_shell.read_marks(_read(sandbox, session_shell.MARKS).decode("utf-8", "replace"))
    typescript = _read(sandbox, session_shell.TYPESCRIPT)
    agent_events: dict[int, list[dict[str, Any]]] = {}
    if recipe is not None:
        for n in range(1, sum(1 for m in marks if m.command.lstrip().startswith("ask-agent")) + 1):
            out = _read(sandbox, f"{session_shell.SESSION_DIR}/agent-{n}.out").decode("utf-8", "replace")
            stream = normalise(recipe.transcript, out)
            # Which conversation each ask went on with: ask-agent resumes the last one unless told --new.
            conversation = ([{"type": "note", "label": "agent conversation", "text": stream.session_id}]
                            if stream.session_id else [])
            agent_events[n] = conversation + stream.events
    transcript = session_shell.transcript_from(prompt, marks, typescript, int(started), agent_events)
    submitted = bool(_read(sandbox, session_shell.SUBMITTED).strip())
    usage = Usage()
    if relay is not None:
        transcript += [{"type": "model_call", **asdict(call)} for call in relay.calls]
        usage = relay.usage
    submission = Submission(answers=None, transcript=transcript, usage=usage, seconds=seconds,
                            steps=sum(1 for m in marks if m.command))
    if not submitted and seconds >= wall - 1:
        submission.outcome = Outcome.TIMEOUT
        submission.error = f"the session reached its time limit of {wall:g}s before `submit`"
    elif not submitted:
        submission.error = "the person left the shell without `submit`"
    transcript.append({"type": "note", "text": "submitted" if submitted else (submission.error or "")})
    return submission
