"""What a person's session puts in the task's container, and how its traces become a transcript.

The session's shell is bash inside `script` (util-linux, in every Debian image), so everything the
terminal showed is kept in a typescript. bash's PROMPT_COMMAND appends one line per prompt to a
marks file: the time, the exit status and the command just run (from its history), and the
typescript's size at that moment. Cutting the typescript at those sizes gives each command its
output, so a person's session reads like an agent's: commands with what they printed.
"""

from __future__ import annotations

import base64
import re
import shlex
from dataclasses import dataclass
from typing import Any

SESSION_DIR = "/tmp/corebench-session"
MARKS = f"{SESSION_DIR}/marks"
TYPESCRIPT = f"{SESSION_DIR}/typescript"
SUBMITTED = f"{SESSION_DIR}/submitted"
AGENT_OUTPUT_GLOB = "agent-*.out"
OUTPUT_CHARS = 20_000  # of one command's output, kept in the transcript
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[()][A-Za-z0-9]|\r")

RC = r"""# The corebench session's shell (written by corebench_runner/running/session_shell.py).
[ -f /etc/bash.bashrc ] && . /etc/bash.bashrc
CB_DIR=__DIR__
CB_END=__END__
CB_REPORT=__REPORT__
export HISTFILE="$CB_DIR/history" HISTSIZE=100000 HISTFILESIZE=100000 HISTCONTROL=
export PATH="$CB_DIR/bin:$PATH"
__ENV__
__cb_left() { local s=$(( CB_END - $(date +%s) )); [ "$s" -lt 0 ] && s=0; printf '%d:%02d' $((s / 60)) $((s % 60)); }
# One line per prompt: time, exit status, typescript size, the command just run (base64; empty: none).
__cb_mark() {
  local status=$? num rest cmd="" size
  read -r num rest <<< "$(HISTTIMEFORMAT= history 1)"
  if [ -n "$num" ] && [ "$num" != "${__cb_last:-}" ]; then cmd=$(HISTTIMEFORMAT= history 1 | sed -E '1s/^ *[0-9]+\*? +//'); fi
  __cb_last=$num
  sleep 0.05  # let script(1) write what the command printed before measuring it
  size=$(stat -c %s "$CB_DIR/typescript" 2>/dev/null || echo 0)
  printf '%s\t%s\t%s\t%s\n' "$(date +%s)" "$status" "$size" "$(printf %s "$cmd" | base64 -w0)" >> "$CB_DIR/marks"
  history -a
}
task() { cat "$CB_DIR/task.txt"; }
submit() {
  if [ ! -s "$CB_REPORT" ]; then echo "submit: $CB_REPORT is missing or empty; write your answers there first"; return 1; fi
  if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import json, sys; assert isinstance(json.load(open(sys.argv[1])), dict)' "$CB_REPORT" 2>/dev/null; then
    echo "submit: $CB_REPORT is not one JSON object mapping each question to its answer; fix it, then submit again"; return 1
  fi
  printf '%s\t0\t%s\t%s\n' "$(date +%s)" "$(stat -c %s "$CB_DIR/typescript" 2>/dev/null || echo 0)" "$(printf submit | base64 -w0)" >> "$CB_DIR/marks"
  date +%s > "$CB_DIR/submitted"
  echo "submitted $CB_REPORT: the session ends and is graded"
  exit 0
}
export -f submit task
PROMPT_COMMAND=__cb_mark
PS1='[$(__cb_left) left] \u:\w\$ '
cd "__WORKDIR__"
task
echo
echo "Commands: task (the task again), submit (hand in $CB_REPORT and end the session)__AGENT_HELP__."
"""

ASK_AGENT = r"""#!/bin/bash
# ask-agent "what to do": the session's agent (__AGENT__) works in this workspace with that prompt, going on
# with the conversation of the previous ask-agent (`ask-agent --new "..."` starts a new one).
# It talks to the model only through the metering relay on the host; its own log is kept for the transcript.
set -uo pipefail
resume=1
if [ "${1:-}" = "--new" ]; then resume=0; shift; fi
if [ $# -eq 0 ]; then echo 'usage: ask-agent [--new] "what the agent should do"'; exit 2; fi
n=$(( $(ls "$CB_DIR"/agent-*.out 2>/dev/null | wc -l) + 1 ))
printf '%s' "$*" > "$CB_DIR/agent-prompt-$n.txt"
chmod a+r "$CB_DIR/agent-prompt-$n.txt"
# The previous conversation's id, as each agent CLI's stream names it (what its own resume takes).
session=""
if [ "$resume" = 1 ] && [ -f "$CB_DIR/agent-$((n - 1)).out" ]; then
  session=$(grep -o -m1 -E '"(session_id|thread_id|sessionID)" *: *"[^"]+"' "$CB_DIR/agent-$((n - 1)).out" \
            | head -n1 | sed -E 's/.*: *"([^"]+)"/\1/')
fi
show=cat
if command -v python3 >/dev/null 2>&1; then show="python3 $CB_DIR/show-agent.py"; fi
CBR_PROMPT_FILE="$CB_DIR/agent-prompt-$n.txt" CBR_RESUME="$session" corebench-enter-agent 2>&1 \
  | tee "$CB_DIR/agent-$n.out" | $show
"""

# What ask-agent shows the person of the agent's JSON stream: its words and the commands it runs.
SHOW_AGENT = r"""import json, sys
for line in sys.stdin:
    try:
        event = json.loads(line)
    except ValueError:
        print(line, end="", flush=True)
        continue
    if not isinstance(event, dict):
        continue
    message = event.get("message") if isinstance(event.get("message"), dict) else {}
    for part in (message.get("content") or []) if event.get("type") == "assistant" else []:
        if part.get("type") == "text" and part.get("text"):
            print(part["text"], flush=True)
        elif part.get("type") == "tool_use":
            tool_input = part.get("input") or {}
            print(f"[{part.get('name')}] {tool_input.get('command') or tool_input.get('file_path') or ''}", flush=True)
    item = event.get("item") if isinstance(event.get("item"), dict) else {}
    if event.get("type") == "item.completed" and item.get("text"):
        print(item["text"], flush=True)
    if event.get("type") == "item.completed" and item.get("command"):
        print(f"[shell] {item['command']}", flush=True)
    part = event.get("part") if isinstance(event.get("part"), dict) else {}
    if part.get("type") == "text" and part.get("text"):
        print(part["text"], flush=True)
    if part.get("type") == "tool":
        print(f"[{part.get('tool')}] {(part.get('state') or {}).get('input', '')}", flush=True)
"""


@dataclass(frozen=True)
class AgentInShell:
    """The agent a person may drive from the session's shell: its name and the environment its run script reads."""

    name: str
    env: dict[str, str]


def session_files(task_text: str, end_epoch: int, report_path: str, workdir: str,
                  agent: AgentInShell | None) -> dict[str, tuple[str, int]]:
    """Path -> (content, mode) of every file the session's shell needs in the container."""
    env_lines = "\n".join(f"export {key}={shlex.quote(value)}" for key, value in (agent.env if agent else {}).items())
    rc = (RC.replace("__DIR__", SESSION_DIR).replace("__END__", str(end_epoch))
          .replace("__REPORT__", shlex.quote(report_path)).replace("__WORKDIR__", workdir)
          .replace("__ENV__", env_lines)
          .replace("__AGENT_HELP__", f', ask-agent \\"PROMPT\\" (runs {agent.name} here, going on with its last '
                                     'conversation; --new for a fresh one)' if agent else ""))
    files = {f"{SESSION_DIR}/rc": (rc, 0o644), f"{SESSION_DIR}/task.txt": (task_text, 0o644),
             MARKS: ("", 0o644)}
    if agent is not None:
        files[f"{SESSION_DIR}/bin/ask-agent"] = (ASK_AGENT.replace("__AGENT__", agent.name), 0o755)
        files[f"{SESSION_DIR}/show-agent.py"] = (SHOW_AGENT, 0o644)
    return files


def shell_command(seconds_left: int) -> list[str]:
    """The command `docker exec -it` runs: bash in script(1), ended by timeout(1) when the time is up."""
    inner = f"bash --rcfile {SESSION_DIR}/rc -i"
    return ["timeout", "--foreground", "-k", "5", str(max(seconds_left, 1)),
            "script", "-q", "-f", "-c", inner, TYPESCRIPT]


@dataclass(frozen=True)
class Mark:
    epoch: int
    status: int | None
    size: int
    command: str


def read_marks(text: str) -> list[Mark]:
    marks = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 4:
            continue
        try:
            command = base64.b64decode(parts[3]).decode("utf-8", "replace") if parts[3] else ""
            marks.append(Mark(int(parts[0]), int(parts[1]) if parts[1] else None, int(parts[2]), command))
        except ValueError:
            continue
    return marks


def clean_terminal_text(raw: bytes) -> str:
    return ANSI.sub("", raw.decode("utf-8", "replace"))


def transcript_from(prompt: str, marks: list[Mark], typescript: bytes, started_epoch: int,
                    agent_events: dict[int, list[dict[str, Any]]] | None = None) -> list[dict[str, Any]]:
    """The session's transcript: the task prompt, then each command the person ran with its output
    (an `ask-agent` command followed by what that agent did), as tool_call events diagnostics read."""
    events: list[dict[str, Any]] = [{"type": "prompt", "user": prompt}]
    previous = 0
    asked = 0
    for mark in marks:
        segment, previous = typescript[previous:mark.size], max(previous, mark.size)
        if not mark.command:
            continue
        text = clean_terminal_text(segment)
        output = text.split("\n", 1)[1] if "\n" in text else ""  # the first line is the prompt and the typed command
        events.append({"type": "tool_call", "name": "shell", "input": {"command": mark.command},
                       "output": output[-OUTPUT_CHARS:], "is_error": bool(mark.status),
                       "action": {"kind": "command", "command": mark.command, "exit_code": mark.status},
                       "exit_code": mark.status, "at_seconds": max(mark.epoch - started_epoch, 0)})
        if mark.command.lstrip().startswith("ask-agent"):
            asked += 1
            events.extend((agent_events or {}).get(asked, []))
    return events
