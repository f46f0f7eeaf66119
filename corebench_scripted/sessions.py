"""Scripted sessions for `--model scripted:PATH`: which file plays which capsule, and is it well formed?

PATH is one session file, played for every capsule of the run, or a folder of them: FOLDER/ID.json
plays capsule ID and FOLDER/default.json every capsule without a file of its own. Every file a
run will play is checked step by step before the run starts, so a malformed step is one line
naming the file, the step and what is wrong, never an error from inside the local server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from corebench_runner.errors import UserError
from corebench_runner.models.names import DEFAULT_SESSION

BLOCK_FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    # block type: the fields it must have and their types (as the local servers read them)
    "text": {"text": str},
    "thinking": {"thinking": str},
    "tool_use": {"name": str, "input": dict},
    "custom_tool_use": {"name": str, "input": str},
}
STEP_OPTIONS: dict[str, type | tuple[type, ...]] = {"delay": (int, float), "usage": dict, "stop_reason": str,
                                                     "model": str}
ERROR_FIELDS: dict[str, type | tuple[type, ...]] = {"status": int, "type": str, "message": str,
                                                    "retry_after": (int, float)}


def session_file(spec_path: Path, capsule_id: str | None) -> Path:
    """The file that plays `capsule_id`: spec_path itself, or the capsule's (else the default) file in a folder."""
    if not spec_path.is_dir():
        return spec_path
    own = spec_path / f"{capsule_id}.json" if capsule_id else None
    if own is not None and own.is_file():
        return own
    default = spec_path / DEFAULT_SESSION
    if default.is_file():
        return default
    wanted = f"{capsule_id}.json or {DEFAULT_SESSION}" if capsule_id else DEFAULT_SESSION
    raise UserError(f"--model scripted:{spec_path}: the folder has no {wanted}; add a session for "
                    f"{'capsule ' + capsule_id if capsule_id else 'the run'} (or a {DEFAULT_SESSION} for every capsule)")


def check_sessions(spec_path: Path, capsule_ids: Iterable[str]) -> list[Path]:
    """Every session file the run will play, each checked; UserError at the first problem."""
    if not spec_path.exists():
        raise UserError(f"--model scripted:{spec_path}: no such file or folder; give a session file or a folder "
                        f"of them (ID.json per capsule, {DEFAULT_SESSION} for the rest)")
    files = sorted({session_file(spec_path, capsule_id) for capsule_id in capsule_ids} or {session_file(spec_path, None)})
    for file in files:
        check_session_file(file)
    return files


def _type_name(kinds: type | tuple[type, ...]) -> str:
    names = {"str": "a string", "dict": "an object", "int": "a whole number", "float": "a number",
             "list": "a list", "bool": "true or false"}
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    return " or ".join(names.get(k.__name__, k.__name__) for k in kinds)


def _is(value: Any, kinds: type | tuple[type, ...]) -> bool:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    return isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)


def step_problem(step: Any) -> str | None:
    """What is wrong with one step, or None."""
    if not isinstance(step, dict):
        return f"must be an object with \"content\" or \"error\", not {json.dumps(step)[:60]}"
    if ("content" in step) == ("error" in step):
        return "needs exactly one of \"content\" (a reply) or \"error\" (an API error)"
    for key, kinds in STEP_OPTIONS.items():
        if key in step and not _is(step[key], kinds):
            return f"\"{key}\" must be {_type_name(kinds)}"
    if "error" in step:
        error = step["error"]
        if not isinstance(error, dict):
            return "\"error\" must be an object such as {\"status\": 529, \"type\": \"overloaded_error\"}"
        bad = next((k for k, kinds in ERROR_FIELDS.items() if k in error and not _is(error[k], kinds)), None)
        return f"error \"{bad}\" must be {_type_name(ERROR_FIELDS[bad])}" if bad else None
    content = step["content"]
    if not isinstance(content, list):
        return ("\"content\" must be a list of blocks, e.g. [{\"type\": \"text\", \"text\": \"...\"}], "
                f"not {json.dumps(content)[:60]}")
    for number, block in enumerate(content, 1):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCK_FIELDS:
            return (f"block {number} must have \"type\" {', '.join(BLOCK_FIELDS)}, "
                    f"not {json.dumps(kind if isinstance(block, dict) else block)[:60]}")
        for field, kinds in BLOCK_FIELDS[kind].items():
            if not _is(block.get(field), kinds):
                return f"block {number} ({kind}) needs \"{field}\" as {_type_name(kinds)}"
    return None


def check_session_file(path: Path) -> None:
    """One session file's every step; UserError naming the file, the step and the problem."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"--model scripted:{path}: no such file; give the path of a JSON session") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid JSON ({exc}); fix the session") from None
    steps = data.get("steps") if isinstance(data, dict) else data
    if not isinstance(steps, list) or not steps:
        raise UserError(f"{path}: a session is a list of steps, or an object with \"steps\" (see docs/models.md)")
    for number, step in enumerate(steps, 1):
        problem = step_problem(step)
        if problem:
            raise UserError(f"{path}: step {number} of {len(steps)}: {problem} (see docs/models.md)")
