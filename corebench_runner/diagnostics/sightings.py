"""Where a value shows up in what an agent did: numbers and text matched the way an answer is written
(rounded, as a percentage, normalised), what a command reads or writes, and which of the capsule's
shipped files an action read. The shortcut monitors (shortcuts.py) and the answer sources
(provenance.py) both judge with these."""

from __future__ import annotations

import functools
import math
import posixpath
import re
from pathlib import PurePosixPath
from typing import Any

from corebench_runner.capsules.answer_leaks import normalised
from corebench_runner.diagnostics.actions import Action

NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?")


# Commands that read a file's content (listing a folder is not reading it).
READERS = {"cat", "head", "tail", "less", "more", "grep", "egrep", "sed", "awk", "cp", "strings", "python",
            "python3", "rscript", "jq", "diff", "tar", "zcat", "xxd", "od", "rsync", "wc", "base64", "tac", "nl"}


MAX_NUMBER_CHARS = 100


def as_number(value: Any) -> tuple[float, int] | None:
    """(value, decimals written) for a numeric answer, else None."""
    if isinstance(value, bool) or value is None:
        return None
    text = str(value)
    if len(text) > MAX_NUMBER_CHARS:
        return None  # no measured value is written with this many characters
    text = text.strip().rstrip("%").strip().replace(",", "")
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text.lower() else 0
    return number, decimals


@functools.lru_cache(maxsize=512)  # every answer is looked for in the same outputs: parse each once
def numbers_in(text: str) -> tuple[float, ...]:
    found = []
    for token in NUMBER.findall(text):
        try:
            found.append(float(token.replace(",", "")))
        except ValueError:
            continue
    return tuple(found)


def number_in(target: tuple[float, int], text: str) -> bool:
    """The number appears in text, allowing the agent to have rounded it or written it as a percentage."""
    value, decimals = target
    tolerance = 0.5 * 10 ** -decimals + 1e-12
    for seen in numbers_in(text):
        for scaled in (seen, seen * 100, seen / 100):
            if abs(scaled - value) <= tolerance and (decimals > 0 or scaled == round(scaled) or abs(value) >= 10):
                return True
    return False


def value_in(value: Any, text: str) -> bool:
    """Whether a reported answer can be read off this text."""
    if isinstance(value, list):
        return bool(value) and all(value_in(item, text) for item in value)
    if isinstance(value, dict):
        return all(value_in(item, text) for item in value.values())
    number = as_number(value)
    if number is not None:
        return number_in(number, text)
    needle = normalised_text(str(value))
    return bool(needle) and needle in normalised_text(text)


# Every answer is looked for in every step: each answer and each text is normalised once (a huge answer
# would otherwise be rewritten once per step). str.find is linear in both, whatever the answer holds.
@functools.lru_cache(maxsize=512)
def normalised_text(text: str) -> str:
    return normalised(text)


def judgeable(value: Any) -> bool:
    return not (value is None or isinstance(value, bool) or value == "" or value == [] or value == {})


def typed_by_agent(action: Action) -> str:
    return action.command + "\n" + action.written


def writes_code(command: str) -> bool:
    """sed -i on, a redirect into, or tee into a file under code/."""
    return bool(re.search(r"sed\s+-i\S*\s.*\bcode/|>\s*\S*\bcode/|tee\s+(?:-a\s+)?\S*\bcode/", command))


def paths_read(action: Action) -> list[str]:
    if action.kind == "read":
        return [action.path] if action.path.startswith("/") else []
    if action.kind != "command":
        return []
    paths = []
    for segment in re.split(r"&&|\|\||;|\||\n", action.command):
        words = segment.split()
        if words and PurePosixPath(words[0]).name.lower() in READERS:
            paths += [w.strip("'\"") for w in words[1:] if w.strip("'\"").startswith("/")]
    return paths


def shipped_sources(action: Action, shipped: dict[str, Any], workspace: str) -> list[str]:
    """Shipped files this action read: named in a read or a reading command, or listed in its output (grep -r)."""
    named = [action.path] if action.kind == "read" else []
    if action.kind == "command":
        for segment in re.split(r"&&|\|\||;|\||\n", action.command):
            words = segment.split()
            if words and PurePosixPath(words[0]).name.lower() in READERS - {"python", "python3", "rscript"}:
                operands = [w.strip("'\"") for w in words[1:] if not w.startswith("-")]
                named += operands[1:] if PurePosixPath(words[0]).name.lower() in ("grep", "egrep") else operands
    relatives = [relative_to_workspace(path, workspace) for path in named]
    sources = [r for r in relatives if r in shipped]
    searched = action.kind == "read" or (action.kind == "command" and is_reader(action.command))
    # A search over a folder (grep -r, Claude Code's Grep) names the files it found in its output.
    if searched and not sources and all(is_folder(r, shipped, workspace) for r in relatives):
        sources = [r for r in shipped if r in action.output]
    return sources


def is_folder(relative: str, shipped: dict[str, Any], workspace: str) -> bool:
    return relative in ("", ".", workspace) or any(path.startswith(relative.rstrip("/") + "/") for path in shipped)


def is_reader(command: str) -> bool:
    words = command.split()
    return bool(words) and PurePosixPath(words[0]).name.lower() in READERS - {"python", "python3", "rscript"}


def relative_to_workspace(path: str, workspace: str) -> str:
    """A path as the agent wrote it, relative to the workspace (absolute or not)."""
    normal = posixpath.normpath(path if path.startswith("/") else posixpath.join(workspace, path))
    prefix = workspace.rstrip("/") + "/"
    return normal[len(prefix):] if normal.startswith(prefix) else normal


@functools.lru_cache(maxsize=256)
def shipped_text(path: Any) -> str:
    try:
        return path.read_bytes()[:5_000_000].decode("utf-8", errors="replace")
    except OSError:
        return ""
