"""A suite is a folder holding capsules/ and, optionally, scaffolds/, graders/, reports/.

Which suite: --suite DIR (or `--suite bundled`), else $COREBENCH_SUITE, else the current directory
when it holds capsules/, else the bundled suite: the one installed with the package
(corebench_runner/bundled/), found through the package, never beside the source tree.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from corebench_runner.capsules.format import CAPSULE_FILE, Capsule, load_capsule
from corebench_runner.errors import UserError

SUITE_ENV = "COREBENCH_SUITE"
BUNDLED_NAME = "bundled"  # --suite bundled: the bundled suite, from any folder


def _bundled_suite() -> Path:
    """The installed package's bundled suite folder (found by the import system, not imported)."""
    spec = importlib.util.find_spec("corebench_runner.bundled")
    assert spec is not None and spec.submodule_search_locations, "corebench_runner.bundled is part of the package"
    return Path(spec.submodule_search_locations[0]).resolve()


BUNDLED_SUITE = _bundled_suite()


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
    if chosen == BUNDLED_NAME:
        if for_writing:
            source = "--suite" if explicit else f"${SUITE_ENV}"
            raise UserError(f"{source} bundled: the bundled suite is read-only; make a suite of your own with "
                            "`corebench suite init DIR` and work there")
        return Suite(BUNDLED_SUITE)
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


SUITE_FOLDERS = ("capsules", "graders", "scaffolds", "reports")


def init_suite(root: Path) -> list[Path]:
    """Make `root` a suite: its folders and a README saying what goes where. Returns what it made.

    Nothing is overwritten: a folder that already holds capsules/ is refused."""
    root = root.expanduser()
    if root.exists() and not root.is_dir():
        raise UserError(f"{root} is a file; choose a new folder (or an empty one) for the suite")
    if (root / "capsules").is_dir():
        raise UserError(f"{root} is a suite already (it has capsules/); work there, or choose another folder")
    if root.resolve() == BUNDLED_SUITE:
        raise UserError(f"{root} is the bundled suite; choose a folder of your own")
    made = []
    for folder in (root, *(root / name for name in SUITE_FOLDERS)):
        if not folder.is_dir():
            folder.mkdir(parents=True)
            made.append(folder)
    readme = root / "README.md"
    if not readme.exists():
        text = importlib.resources.files("corebench_runner").joinpath("data/suite-README.md").read_text()
        readme.write_text(text)
        made.append(readme)
    return [path.resolve() for path in made]
