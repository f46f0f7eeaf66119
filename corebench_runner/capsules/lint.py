"""Authoring warnings `corebench capsule validate` adds to the format checks of format.py.

They flag capsules that load fine but would mislead a run: an unprivileged agent that cannot
install the system packages the code needs, and metadata the author has not filled in yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from corebench_runner.capsules.format import Capsule, Problem

_APT_INSTALL = re.compile(r"\bapt(?:-get)?\s+(?:-\S+\s+)*install\b(?P<rest>.*)", re.IGNORECASE)
_AGENT_USER_LINE = re.compile(r"^\s*agent_user\s*=")


@dataclass(frozen=True)
class DockerfileInstall:
    line: int  # 1-based, where the RUN instruction starts
    packages: tuple[str, ...]


def apt_installs(dockerfile: Path) -> list[DockerfileInstall]:
    """Each RUN instruction that apt-installs packages, with its first line number."""
    found = []
    lines = dockerfile.read_text(encoding="utf-8", errors="replace").splitlines()
    number = 0
    while number < len(lines):
        start = number
        text = lines[number]
        while text.rstrip().endswith("\\") and number + 1 < len(lines):  # one instruction, continued
            number += 1
            text = text.rstrip()[:-1] + " " + lines[number]
        number += 1
        if not text.lstrip().upper().startswith("RUN"):
            continue
        for command in re.split(r"&&|;|\|\|", text):
            match = _APT_INSTALL.search(command)
            if match:
                packages = tuple(w for w in match.group("rest").split() if not w.startswith("-"))
                if packages:
                    found.append(DockerfileInstall(start + 1, packages))
    return found


def _line_of(file: Path, pattern: re.Pattern[str]) -> int | None:
    for number, line in enumerate(file.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if pattern.match(line):
            return number
    return None


def unprivileged_agent_needs_packages(capsule: Capsule) -> list[Problem]:
    """agent_user = "agent" while the Dockerfile apt-installs: easy and hard agents cannot do the same."""
    if capsule.agent_user != "agent" or not capsule.dockerfile.is_file():
        return []
    installs = apt_installs(capsule.dockerfile)
    if not installs:
        return []
    toml_line = _line_of(capsule.toml_path, _AGENT_USER_LINE)
    packages = sorted({p for install in installs for p in install.packages})
    shown = ", ".join(packages[:6]) + (f" and {len(packages) - 6} more" if len(packages) > 6 else "")
    where = f"{capsule.dockerfile.relative_to(capsule.path)} line {installs[0].line}"
    message = (f"line {toml_line} sets agent_user = \"agent\", but {where} apt-installs {shown}; at the easy and "
               "hard levels the agent works in the toolbox image, not this environment, and as an unprivileged "
               "user it cannot install them: set agent_user = \"root\"")
    return [Problem(capsule.toml_path, "agent_user", message, "warning")]


def unfilled_metadata(capsule: Capsule) -> list[Problem]:
    problems = []
    if not capsule.field.strip():
        problems.append(Problem(capsule.toml_path, "field", "is empty; fill in the paper's research field "
                                "(e.g. \"Social Sciences\", \"Medical Sciences\", \"Computer Science\")", "warning"))
    if not capsule.language.strip():
        problems.append(Problem(capsule.toml_path, "language", "is empty; fill in the language of the code "
                                "(e.g. \"R\" or \"Python\")", "warning"))
    return problems


def authoring_warnings(capsule: Capsule) -> list[Problem]:
    return unprivileged_agent_needs_packages(capsule) + unfilled_metadata(capsule)
