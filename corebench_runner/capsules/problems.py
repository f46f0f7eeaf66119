"""What validating a capsule.toml finds: a Problem per bad field, the CapsuleError that carries them,
and the reader that checks a field's type as it reads it (format.py and questions.py use it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corebench_runner.errors import UserError


@dataclass(frozen=True)
class Problem:
    """One validation finding: the file, the field, and what to do."""

    file: Path
    field: str
    message: str
    severity: str = "error"  # or "warning"

    def line(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


class CapsuleError(UserError):
    """A capsule that cannot be loaded; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = problems[0].line()
        more = f" (and {len(problems) - 1} more problem(s); run `corebench capsule validate`)" if len(problems) > 1 else ""
        super().__init__(first + more)


class FieldReader:
    """Reads typed fields from a TOML table, recording a Problem for each bad one."""

    def __init__(self, file: Path, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems

    def error(self, name: str, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(self.file, name, message, severity))

    def get(self, table: dict, key: str, kind: type | tuple, name: str, required: bool = False, default: Any = None) -> Any:
        if key not in table:
            if required:
                self.error(name, f"missing; add `{key} = ...` to {self.file.name}")
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            ok = False
        else:
            ok = isinstance(value, kinds)
        if not ok:
            wanted = " or ".join(k.__name__ for k in kinds)
            self.error(name, f"must be {wanted}, not {type(value).__name__} ({value!r})")
            return default
        return value


def inside(root: Path, relative: str) -> bool:
    """Does a path a field names stay inside the capsule folder (links and `..` resolved)?"""
    try:
        (root / relative).resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False
