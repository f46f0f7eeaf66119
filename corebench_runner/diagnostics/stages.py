"""Progress stages of a task, read from its actions and the files it left (no model needed).

The stages, in funnel order: dependencies installed, the capsule's code ran to a clean exit,
the expected outputs were produced, the report was written, every answer was correct. Each is
judged on its own, so a task that wrote a correct report without running anything shows as
"report written, answers correct" but not "code ran": the gap is the finding.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from corebench_runner.diagnostics.actions import Action
from corebench_runner.diagnostics.code_status import FAILED, OK, UNKNOWN, code_run_status

STAGES = ("deps_installed", "code_ran", "outputs_produced", "report_written", "answers_correct")
STAGE_LABELS = {
    "deps_installed": "dependencies installed",
    "code_ran": "capsule code ran cleanly",
    "outputs_produced": "expected outputs produced",
    "report_written": "report written",
    "answers_correct": "answers correct",
}

INTERPRETERS = {"python", "python3", "python2", "rscript", "r", "bash", "sh", "julia", "jupyter", "papermill",
                "make", "matlab", "octave", "stata", "node", "ipython", "quarto", "source"}
CODE_SUFFIXES = {".py", ".r", ".sh", ".ipynb", ".jl", ".m", ".rmd", ".qmd", ".do", ".js", ""}
_SEGMENT_SPLIT = re.compile(r"&&|\|\||;|\||\n")
_SHELL_KEYWORDS = {"do", "then", "else", "!", "{", "("}  # words that open a segment before its command
_LOOP = re.compile(r"\bfor\s+(\w+)\s+in\s+([^;\n]+)")
_INSTALL = re.compile(r"\b(?:pip3?|python3? -m pip|uv pip|conda|mamba|apt-get|apt)\s+install\b|install\.packages\s*\(|"
                      r"BiocManager::install|remotes::install|devtools::install|Pkg\.add", re.I)
_INSTALL_FAILED_OUTPUT = re.compile(
    r"No matching distribution found for ([\w.\-\[\]]+)|Could not find a version that satisfies the requirement "
    r"([\w.\-\[\]]+)|package [‘'\"]([\w.]+)[’'\"] is not available|installation of package [‘'\"]([\w.]+)[’'\"] "
    r"had non-zero exit status|Unable to locate package ([\w.+\-]+)|E: Package '([\w.+\-]+)' has no installation",
    re.I)
_MISSING_MODULE = re.compile(r"No module named ['\"]?([\w.]+)|there is no package called [‘'\"]([\w.]+)[’'\"]|"
                             r"Package ([\w.]+) not found|cannot open shared object file", re.I)


@dataclass
class StageEvidence:
    """What the stage rules found; the failure-reason rules read the same facts."""

    stages: dict[str, bool | None]  # None: cannot be told from the transcript
    install_failure: tuple[Action, str] | None = None  # (action, package) still unresolved at the end
    code_runs: list[Action] = field(default_factory=list)
    last_code_failure: Action | None = None  # the last failed run of the capsule's code, if never fixed


def capsule_code_names(capsule: Any) -> set[str]:
    """Basenames of the capsule's runnable code files (what a reproduction command names)."""
    folder = capsule.path / "code"
    if not folder.is_dir():
        return set()
    return {p.name for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in CODE_SUFFIXES}


def _segments(command: str) -> list[list[str]]:
    out = []
    for part in _SEGMENT_SPLIT.split(command):
        try:
            words = shlex.split(part)
        except ValueError:  # unbalanced quotes: fall back to whitespace
            words = part.split()
        while words and (words[0] in _SHELL_KEYWORDS or ("=" in words[0] and not words[0].startswith(("-", "/", ".")))):
            words = words[1:]  # `do`, `then` ... and VAR=value prefixes
        if words and words[0] in ("time", "timeout", "nohup", "xvfb-run", "stdbuf", "sudo", "exec"):
            words = [w for w in words[1:] if not w[:1].isdigit()] or words
        if words:
            out.append(words)
    return out


def _named_files(words: list[str], code_names: set[str], loops: dict[str, list[str]]) -> set[str]:
    """Basenames the words name: `$f` of a `for f in ...` loop stands for the loop's words, a glob for its matches."""
    named: set[str] = set()
    for word in words:
        word = word.strip("'\"()")
        variable = re.fullmatch(r"\$\{?(\w+)\}?", word)
        for candidate in loops.get(variable.group(1), []) if variable else [word]:
            name = PurePosixPath(candidate.strip("'\"")).name
            if any(c in name for c in "*?["):
                named |= set(fnmatch.filter(code_names, name))
            else:
                named.add(name)
    return named


def runs_capsule_code(command: str, code_names: set[str], reproduce: str = "", context: str = "") -> bool:
    """A command that executes one of the capsule's code files (not one that only reads it).

    `context` is the whole command line when `command` is one segment of it (for loop variables).
    """
    if reproduce and command.strip() == reproduce.strip():
        return True
    loops = {m.group(1): m.group(2).split() for m in _LOOP.finditer(context or command)}
    for words in _segments(command):
        head = PurePosixPath(words[0]).name.lower()
        named = _named_files(words[1:], code_names, loops) | {PurePosixPath(words[0]).name}
        mentions = bool(named & code_names) or any(name in " ".join(words) for name in code_names if "." in name)
        if head.startswith(("python", "rscript")) or head in INTERPRETERS:
            if mentions or head == "make":
                return True
        elif words[0].startswith(("./", "/")) and PurePosixPath(words[0]).name in code_names:
            return True
    return False


def is_install(action: Action) -> bool:
    return action.kind == "command" and bool(_INSTALL.search(action.command))


def _clean(action: Action) -> bool:
    return action.exit_code == 0 and not action.timed_out


def install_failed(action: Action) -> str | None:
    """The package an install command failed on ("" when it failed but names none), else None."""
    match = _INSTALL_FAILED_OUTPUT.search(action.output)
    if match:
        return next(g for g in match.groups() if g)
    if _clean(action):
        return None
    return _named_packages(action.command)


def missing_dependency(action: Action) -> str | None:
    """The module or package a failed code run could not load, else None."""
    if _clean(action):
        return None
    match = _MISSING_MODULE.search(action.output)
    if not match:
        return None
    return next((g for g in match.groups() if g), "a shared library")


def _missing_in_output(action: Action) -> str | None:
    match = _MISSING_MODULE.search(action.output)
    return next((g for g in match.groups() if g), "a shared library") if match else None


def _named_packages(command: str) -> str:
    segment = next((part for part in _SEGMENT_SPLIT.split(command) if _INSTALL.search(part)), command)
    match = re.search(r"install(?:\.packages)?\s*\(?\s*(?:c\()?(.*)", segment)
    if not match:
        return ""
    names = [w.strip("'\"(),") for w in re.split(r"[\s,]+", match.group(1))]
    names = [n for n in names if n and not n.startswith("-") and not n.startswith("repos") and "=" not in n
             and "/" not in n]  # option values such as index URLs are not packages
    return " ".join(names[:5])


def judge_stages(actions: list[Action], capsule: Any, level: str, answers: dict[str, Any] | None,
                 all_correct: bool, produced_files: list[str] | None) -> StageEvidence:
    code_names = capsule_code_names(capsule)
    evidence = StageEvidence(stages={})
    unresolved: tuple[Action, str] | None = None
    statuses: list[str] = []
    for action in actions:
        if action.kind != "command":
            continue
        runs_code = runs_capsule_code(action.command, code_names, capsule.reproduce)
        if is_install(action):
            package = install_failed(action)
            if package is not None and (not runs_code or _INSTALL_FAILED_OUTPUT.search(action.output)):
                unresolved = (action, package)
                continue  # `pip install x && python3 code/a.py`: the code never ran
            if package is None and unresolved and (not unresolved[1] or unresolved[1].split()[0] in action.command):
                unresolved = None  # a later install of the same package worked
            if not runs_code:
                continue
        if runs_code:
            evidence.code_runs.append(action)
            status = code_run_status(action, lambda segment: runs_capsule_code(
                segment, code_names, capsule.reproduce, context=action.command))
            statuses.append(status)
            if status == OK:
                unresolved, evidence.last_code_failure = None, None  # whatever failed before, the code now runs
            elif status == FAILED:
                evidence.last_code_failure = action
                missing = _missing_in_output(action)
                if missing and unresolved is None:  # a failed install before it is the better evidence
                    unresolved = (action, missing)
    evidence.install_failure = unresolved
    # None: the code ran but no exit status or output says how it went (see code_status.py).
    code_ran = True if OK in statuses else None if UNKNOWN in statuses else False
    evidence.stages = {
        "deps_installed": unresolved is None,
        "code_ran": code_ran,
        "outputs_produced": _outputs_produced(capsule, level, code_ran, actions, produced_files),
        "report_written": answers is not None,
        "answers_correct": all_correct,
    }
    return evidence


def expected_outputs(capsule: Any) -> set[str]:
    """Paths (relative to results/) of what the capsule's own reproduction produced."""
    folder = capsule.path / "results"
    if not folder.is_dir():
        return set()
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")}


def _outputs_produced(capsule: Any, level: str, code_ran: bool | None, actions: list[Action],
                      produced_files: list[str] | None) -> bool | None:
    if produced_files is None:  # the engine could not copy results/ out: judge by the code run alone
        return code_ran
    if level == "easy" and not code_ran:
        return code_ran  # at easy level results/ starts full: only a run makes them "produced"
    written_by_hand = {PurePosixPath(a.path).name for a in actions if a.kind == "write"}
    produced = {f for f in produced_files if PurePosixPath(f).name not in written_by_hand}
    expected = expected_outputs(capsule)
    if not expected:
        return bool(produced)
    names = {PurePosixPath(f).name for f in produced}
    return bool(produced & expected) or bool(names & {PurePosixPath(f).name for f in expected})
