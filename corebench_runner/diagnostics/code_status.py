"""Did one command's run of the capsule's code succeed? "ok", "failed" or "unknown".

A shell command's exit status belongs to its last pipeline, so it speaks for the code only
where the code's segment decides it: `Rscript a.R | tail` exits with tail's status (unless
pipefail is set), `python3 a.py; echo done` with echo's. Where the status does not speak for
the code, the output still can: an R or Python error that stops a script. Where neither tells,
the answer is "unknown", never a guess. A loop's closing keywords (`done`, `fi`) pass the
status of its last command through, so `for f in code/*.R; do Rscript "$f"; done` is judged.
"""

from __future__ import annotations

import re
from typing import Callable

from corebench_runner.diagnostics.actions import Action

OK, FAILED, UNKNOWN = "ok", "failed", "unknown"
_TOKENS = re.compile(r"(&&|\|\||;|\||\n)")
_CLOSERS = {"done", "fi", "esac", "}", ")", "end"}
_PIPEFAIL = re.compile(r"\bset\s+(?:-\w*o\s+|-o\s+|-[a-z]*\s+-o\s+)?pipefail\b|\bset\s+-\w*o\w*\s+pipefail\b")
# What R and Python print when an error stops a script (not warnings, not handled errors).
_SCRIPT_STOPPED = re.compile(r"^Execution halted$|^Traceback \(most recent call last\):$|"
                             r"^Error in .*|^Error: .*|^Killed$|^Segmentation fault", re.M)


def split_segments(command: str) -> list[tuple[str, str]]:
    """(segment, the operator after it: && || ; | or "" at the end), empty segments dropped."""
    parts = _TOKENS.split(command)
    pairs: list[tuple[str, str]] = []
    for i in range(0, len(parts), 2):
        text = parts[i].strip()
        operator = parts[i + 1] if i + 1 < len(parts) else ""
        operator = ";" if operator == "\n" else operator
        if text:
            pairs.append((text, operator))
        elif pairs and operator:  # `a; ; b` or a trailing newline: keep the stronger separator
            pairs[-1] = (pairs[-1][0], operator if pairs[-1][1] in ("", ";") else pairs[-1][1])
    return pairs


def _passes_status_through(segment: str) -> bool:
    return segment.split()[0] in _CLOSERS if segment.split() else True


def _status_decided_by(segments: list[tuple[str, str]], index: int, pipefail: bool) -> str:
    """Whether the command's exit status is the code's: "exact", "if_zero" (0 means it worked) or "no"."""
    operator = segments[index][1]
    if operator == "|" and not pipefail:
        return "no"  # the pipeline's status is its last command's
    end = index
    while pipefail and segments[end][1] == "|" and end + 1 < len(segments):
        end += 1  # under pipefail the rest of the pipeline cannot hide the code's failure
    rest = segments[end + 1:]
    if all(_passes_status_through(text) for text, _ in rest):
        return "exact"
    joins = [segments[end][1]] + [op for _, op in rest[:-1]]
    if all(op in ("&&", "|") for op in joins):
        return "if_zero"  # what follows ran only if the code worked; a failure may be theirs
    return "no"


def code_run_status(action: Action, runs_code: Callable[[str], bool]) -> str:
    """ok / failed / unknown for a command action that runs the capsule's code."""
    if action.timed_out:
        return FAILED
    stopped = bool(_SCRIPT_STOPPED.search(action.output or ""))
    if action.exit_code is None:
        return FAILED if stopped else UNKNOWN
    segments = split_segments(action.command)
    indices = [i for i, (text, _) in enumerate(segments) if runs_code(text)]
    if not indices:  # the code runs in a way segments hide (a heredoc, a subshell string): judge the whole
        indices = [len(segments) - 1]
    decided = _status_decided_by(segments, indices[-1], bool(_PIPEFAIL.search(action.command)))
    in_loop = any(segments[i][0].split()[0] == "do" for i in indices)  # the status is the last round's only
    if decided == "exact" and not (in_loop and stopped):
        return OK if action.exit_code == 0 else FAILED
    if stopped:
        return FAILED
    if decided == "if_zero" and action.exit_code == 0:
        return OK
    return UNKNOWN
