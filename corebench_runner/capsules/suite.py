"""A suite is a folder holding capsules/ and, optionally, scaffolds/, graders/, reports/.

Which suite: --suite DIR, else $COREBENCH_SUITE, else the current directory when it holds
capsules/, else the bundled suite (this repository).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from corebench_runner.capsules.format import CAPSULE_FILE, Capsule, load_capsule
from corebench_runner.errors import UserError

SUITE_ENV = "COREBENCH_SUITE"
BUNDLED_SUITE = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Suite:
    root: Path

    @property
    def capsules_dir(self) -> Path:
        return self.root / "capsules"

    def capsule_dir(self, capsule_id: str) -> Path:
        return self.capsules_dir / capsule_id

    def capsule_ids(self) -> list[str]:
        if not self.capsules_dir.is_dir():
            return []
        return sorted(p.name for p in self.capsules_dir.iterdir() if (p / CAPSULE_FILE).is_file())

    def load(self, capsule_id: str, draft: bool = False) -> Capsule:
        folder = self.capsule_dir(capsule_id)
        if not folder.is_dir():
            raise UserError(f"no capsule {capsule_id!r} in {self.capsules_dir} (known: {self.known_ids()}); "
                            "check the id with `corebench capsule list`")
        return load_capsule(folder, draft=draft)

    def known_ids(self, shown: int = 8) -> str:
        """The first capsule ids and how many more there are, for "no such capsule" messages."""
        ids = self.capsule_ids()
        more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
        return (", ".join(ids[:shown]) + more) or "none"

    def load_all(self) -> list[Capsule]:
        return [self.load(cid) for cid in self.capsule_ids()]

    def plugin_dir(self, kind: str) -> Path:
        return self.root / kind


def resolve_suite(explicit: str | Path | None = None, for_writing: bool = False) -> Suite:
    """Find the suite to use. Writers default to the current directory (creating capsules/ later)."""
    chosen = explicit or os.environ.get(SUITE_ENV)
    if chosen:
        root = Path(chosen).expanduser()
        if not root.is_dir():
            source = "--suite" if explicit else f"${SUITE_ENV}"
            raise UserError(f"{source}: {root} is not a folder; point it at a folder holding capsules/")
        return Suite(root.resolve())
    cwd = Path.cwd()
    if (cwd / "capsules").is_dir() or for_writing:
        return Suite(cwd.resolve())
    return Suite(BUNDLED_SUITE)
