"""Where each reported answer came from, read off the transcript: its `source` and the evidence.

Sources (docs/diagnostics.md has an example transcript of each):
- produced: the value shows in the output (or a file written) of the capsule's own code, run
  unmodified or with path/configuration fixes only (changes inside quoted strings);
- produced_modified: the capsule's code was changed beyond such fixes before it produced the value,
  or the code that printed it is a script the agent wrote itself;
- simulated: the producing code works on data the agent made (random generators in code the agent
  wrote, or files the agent wrote into data/ standing in for the capsule's data);
- shipped: the value was first read from a file the capsule shipped that already held it;
- figure: a vision question answered after viewing an image, with no output holding the value;
- typed: no command output or file read before the agent typed it holds the value.

Matching is the shortcut monitors' own (sightings.value_in), which is linear in the output's size:
the same matching checks a re-run's output (diagnostics/reproduced.py).
"""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from corebench_runner.capsules.answer_leaks import MIN_SIGNIFICANT_DIGITS, MIN_STRING_LENGTH
from corebench_runner.diagnostics.actions import Action
from corebench_runner.diagnostics.sightings import (
    as_number,
    is_reader,
    judgeable,
    relative_to_workspace,
    shipped_sources,
    shipped_text,
    typed_by_agent,
    value_in,
    writes_code,
)

PRODUCED, MODIFIED, SIMULATED, SHIPPED, FIGURE, TYPED = (
    "produced", "produced_modified", "simulated", "shipped", "figure", "typed")
SOURCES = (PRODUCED, MODIFIED, SIMULATED, SHIPPED, FIGURE, TYPED)
EVIDENCE_LINES = 3  # output lines kept as evidence, each cut to EVIDENCE_WIDTH characters
EVIDENCE_WIDTH = 200

# Data made up by the agent: random generators and synthetic data sets (a seed alone makes no data).
_RANDOM_DATA = re.compile(
    r"\b(?:np|numpy)\.random\.(?!seed\b)\w+\s*\(|\bdefault_rng\s*\(|\brng\.(?:normal|uniform|integers|random|choice)"
    r"\s*\(|\brandom\.(?:random|uniform|gauss|randint|choice|sample)\s*\(|\btorch\.rand\w*\s*\(|\btf\.random\."
    r"|\br(?:norm|unif|binom|pois|exp|gamma|beta|mvnorm)\s*\(|\bmake_(?:classification|blobs|regression|moons)\s*\(")
_RUNNERS = {"python", "python3", "rscript", "r", "bash", "sh", "julia", "make", "jupyter", "papermill", "node",
            "matlab", "octave", "java", "perl", "ruby", "stata", "quarto"}
_CODE_SUFFIXES = (".py", ".r", ".sh", ".jl", ".m", ".ipynb", ".rmd")
_QUOTED = re.compile(r"""("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')""")
_REDIRECT_TARGET = re.compile(r"(?:>>?|\btee\s+(?:-a\s+)?)\s*['\"]?([^\s'\";|&]+)")
_SED_SUBSTITUTION = re.compile(r"""s(.)(.*?)(?<!\\)\1(.*?)(?<!\\)\1""")


@dataclass
class AnswerSource:
    """An answer's source and what shows it: the command, its lines that hold the value, and a note."""

    source: str
    command: str = ""
    lines: list[str] = field(default_factory=list)
    note: str = ""

    def evidence(self) -> dict[str, Any]:
        found = asdict(self)
        found.pop("source")
        return found


def answer_sources(answers: dict[str, Any], actions: list[Action], capsule: Any, level: str, workspace: str,
                   vision: set[str]) -> dict[str, AnswerSource]:
    """question -> where its reported value came from, for every answer with a value to trace."""
    shipped = _shipped_files(capsule, level)
    extracted = {q for a in actions if a.kind == "extract" for q in (a.answers or {})}
    found = {}
    for question, value in answers.items():
        if not judgeable(value):
            continue
        if question in extracted:
            found[question] = AnswerSource(PRODUCED, "extract",
                                           note="read by the scaffold from the output files of the capsule's code")
        else:
            found[question] = _source_of(question, value, actions, capsule, shipped, workspace, vision)
    return found


def _shipped_files(capsule: Any, level: str) -> dict[str, Any]:
    if not getattr(capsule, "path", None):
        return {}
    from corebench_runner.capsules.levels import visible_files  # the rule that built the workspace

    return {path.relative_to(capsule.path).as_posix(): path for path in visible_files(capsule, level)}


def _source_of(question: str, value: Any, actions: list[Action], capsule: Any, shipped: dict[str, Any],
               workspace: str, vision: set[str]) -> AnswerSource:
    sightings, typed_at = _sightings(value, actions, capsule, workspace)
    if not sightings:
        image = next((a for a in actions if a.kind == "image" and not a.failed), None)
        if question in vision and image is not None:
            return AnswerSource(FIGURE, image.describe, note="answered after viewing this image")
        typed = typed_at if typed_at is not None else next((a for a in actions if a.kind == "submit"), None)
        return AnswerSource(TYPED, typed.describe if typed else "", _lines(value, typed_by_agent(typed))
                            if typed else [], "no command output or file read before the agent typed it holds it")
    where = {id(action): n for n, action in enumerate(actions)}
    producing = next((a for a in sightings if _producing(a, shipped, workspace)), None)
    read_from = next(((a, origin) for a in sightings
                      if (origin := _shipped_origin(value, a, actions[:where[id(a)]], shipped, workspace))), None)
    # A distinctive value read from a shipped file before any code showed it came from that file; a common
    # one (3, 0.5) only when nothing else showed it.
    if read_from and (producing is None or (_distinctive(value) and where[id(read_from[0])] < where[id(producing)])):
        return AnswerSource(SHIPPED, read_from[0].describe, _lines(value, read_from[0].output),
                            f"read from {read_from[1]}, a file the capsule shipped")
    if producing is None:
        return AnswerSource(TYPED, typed_at.describe if typed_at else "", [],
                            "it showed only in outputs that do not produce it (a listing, a shipped file "
                            "that does not hold it)")
    runner = producing if _code_run(producing) else \
        _last_code_run(actions[:where[id(producing)]])
    before = actions[:where[id(producing)] + 1]
    evidence = dict(command=producing.describe, lines=_lines(value, producing.output))
    made_up = _simulation(before, runner)
    if made_up:
        return AnswerSource(SIMULATED, **evidence, note=made_up)
    changed = _modification(before, runner, capsule, workspace)
    if changed:
        return AnswerSource(MODIFIED, **evidence, note=changed)
    note = f"written by: {runner.command[:200]}" if runner is not None and runner is not producing else ""
    return AnswerSource(PRODUCED, **evidence, note=note)


def _sightings(value: Any, actions: list[Action], capsule: Any, workspace: str) -> tuple[list[Action], Action | None]:
    """Actions whose output showed the value before the agent first typed it, and where it typed it.

    A value written into the capsule's own code is not typed: when that code prints it, the answer is
    produced_modified (what the code printed, after the agent changed it)."""
    seen = []
    for action in actions:
        if action.kind in ("submit", "extract"):
            continue
        into_code = (action.kind in ("write", "edit") and _in_capsule_code(action.path, capsule, workspace)) or \
            (action.kind == "command" and writes_code(action.command))
        if not into_code and value_in(value, typed_by_agent(action)):
            return seen, action  # later sightings may be the agent's own echo
        if action.output and value_in(value, action.output):
            seen.append(action)
    return seen, None


def _distinctive(value: Any) -> bool:
    """Whether finding this value in a shipped file says something (3 or 0.5 are in every file)."""
    if isinstance(value, list):
        return bool(value) and all(_distinctive(item) for item in value)
    number = as_number(value)
    if number is not None:
        digits = str(value).strip().lstrip("-+").replace(".", "").replace(",", "").lstrip("0")
        return len(digits) >= MIN_SIGNIFICANT_DIGITS
    return len(" ".join(str(value).split())) >= MIN_STRING_LENGTH


def _shipped_origin(value: Any, action: Action, before: list[Action], shipped: dict[str, Any],
                    workspace: str) -> str:
    """The shipped file this action read the value from ("" when it did not read one that held it)."""
    changed = {relative_to_workspace(a.path, workspace) for a in before if a.kind in ("write", "edit")}
    for relative in shipped_sources(action, shipped, workspace):
        if relative not in changed and value_in(value, shipped_text(shipped[relative])):
            return relative
    return ""


def _producing(action: Action, shipped: dict[str, Any], workspace: str) -> bool:
    """A run of code, or a read of a file that is not one the capsule shipped (so something wrote it)."""
    if _code_run(action):
        return True
    if action.kind == "read" or (action.kind == "command" and is_reader(action.command)):
        return not shipped_sources(action, shipped, workspace)
    return False


def _code_run(action: Action) -> bool:
    """A command that runs code (an interpreter, a script), not one that lists, installs or prints."""
    if action.kind != "command":
        return False
    for segment in re.split(r"&&|\|\||;|\||\n", action.command):
        words = segment.split()
        if not words or "pip" in words or "install" in words:
            continue
        name = PurePosixPath(words[0]).name.lower()
        if name in _RUNNERS or words[0].startswith("./") or name.endswith((".sh", ".py", ".r")):
            return True
    return False


def _last_code_run(actions: list[Action]) -> Action | None:
    return next((a for a in reversed(actions) if _code_run(a)), None)


def _simulation(before: list[Action], runner: Action | None) -> str:
    """Why the producing code worked on made-up data ("" when nothing says so)."""
    if runner is not None and _RANDOM_DATA.search(runner.command):
        return f"the command that produced it generates random data: {_RANDOM_DATA.search(runner.command)[0]}..."
    ran = runner.command if runner is not None else ""
    for action in before:
        for target, text in _files_written(action):
            parts = PurePosixPath(target).parts
            if "data" in parts[:-1] and not action.failed:
                return f"the agent wrote {target} itself, standing in for the capsule's data ({action.describe[:120]})"
            generated = _RANDOM_DATA.search(text)
            if generated and PurePosixPath(target).name in ran:
                return (f"{target}, written by the agent and run to produce it, generates random data: "
                        f"{generated[0]}...")
    return ""


def _files_written(action: Action) -> list[tuple[str, str]]:
    """(path, text written) for what this action wrote: a write or edit, or a command's redirects."""
    if action.kind in ("write", "edit"):
        return [(action.path, action.written)]
    if action.kind == "command":
        return [(target, action.command) for target in _REDIRECT_TARGET.findall(action.command)
                if not target.startswith("/dev/") and not target.startswith("&")]
    return []


def _modification(before: list[Action], runner: Action | None, capsule: Any, workspace: str) -> str:
    """Why the code that produced it is not the capsule's own ("" when only paths or settings changed)."""
    for action in before:
        if action.failed:
            continue
        if action.kind in ("write", "edit") and _in_capsule_code(action.path, capsule, workspace):
            old = action.replaced if action.kind == "edit" else _capsule_text(capsule, action.path, workspace)
            if old is not None and _beyond_fixes(old, action.written):
                return f"the agent changed the capsule's code beyond paths and settings: {action.describe}"
        elif action.kind == "command" and writes_code(action.command) and not _path_only_sed(action.command):
            return f"a command rewrote the capsule's code: {action.command[:160]}"
    if runner is not None:
        for action in before:
            own = action.kind == "write" and PurePosixPath(action.path).suffix.lower() in _CODE_SUFFIXES
            if own and not _in_capsule_code(action.path, capsule, workspace) \
                    and PurePosixPath(action.path).name in runner.command:
                return f"the code that printed it is the agent's own {action.path}, not the capsule's"
    return ""


def _in_capsule_code(path: str, capsule: Any, workspace: str) -> bool:
    """A file of the capsule's code: shipped, and under code/ or a script by its suffix (not data, not docs)."""
    relative = PurePosixPath(relative_to_workspace(path, workspace))
    is_code = "code" in relative.parts[:-1] or relative.suffix.lower() in _CODE_SUFFIXES
    return is_code and _capsule_text(capsule, path, workspace) is not None


def _capsule_text(capsule: Any, path: str, workspace: str) -> str | None:
    """The shipped text of a file of the capsule (None when the capsule has no such file)."""
    root = getattr(capsule, "path", None)
    relative = relative_to_workspace(path, workspace)
    if root is None or relative.startswith("/") or relative.startswith(".."):
        return None
    return _shipped_file_text(root / relative)


@functools.lru_cache(maxsize=256)  # every answer looks at the same edits
def _shipped_file_text(file: Path) -> str | None:
    try:
        return file.read_text(errors="replace") if file.is_file() and file.name != "capsule.toml" else None
    except OSError:
        return None


def _beyond_fixes(old: str, new: str) -> bool:
    """Whether an edit changed more than quoted strings (paths, devices, file names)."""
    def shape(text: str) -> str:
        return " ".join(_QUOTED.sub('""', text).split())
    return shape(old) != shape(new)


def _path_only_sed(command: str) -> bool:
    """sed -i substitutions whose every pattern and replacement is a path (s#old/dir#new/dir#)."""
    found = _SED_SUBSTITUTION.findall(command.split("sed", 1)[-1])
    return bool(found) and all(_pathish(old) and _pathish(new) for _, old, new in found)


def _pathish(text: str) -> bool:
    return bool(text) and ("/" in text.replace("\\/", "/") or bool(re.search(r"\.[A-Za-z]{1,5}\b", text))) \
        and not re.fullmatch(r"[-+]?[\d.]+", text)


def _lines(value: Any, text: str) -> list[str]:
    """The first lines of the text that hold the value (each line parsed once: linear in the text)."""
    found = []
    for line in text.splitlines():
        if value_in(value, line):
            found.append(line.strip()[:EVIDENCE_WIDTH])
            if len(found) == EVIDENCE_LINES:
                break
    return found


def suspect(source: str | None, reproduced: str | None, level: str) -> str:
    """Why a correct answer needs a person's look ("" when it needs none)."""
    if source in (SIMULATED, TYPED):
        return f"its source is {source}"
    if source == SHIPPED and level in ("medium", "hard"):
        return f"it was read from a shipped file at {level} level"
    if reproduced == "no":
        return "the re-run of reproduce.sh did not produce it"
    return ""
