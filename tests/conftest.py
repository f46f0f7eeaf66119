"""Shared pytest setup. Area-specific fixtures live in tests/support_<area>.py."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def docker_ready() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    return subprocess.run([docker, "info"], capture_output=True).returncode == 0


def pytest_collection_modifyitems(config, items):
    """Docker tests skip with a visible reason on a machine without an engine; in CI they must run."""
    if docker_ready() or IN_CI:
        return
    skip = pytest.mark.skip(reason="no Docker engine answers: run scripts/setup.sh (installs and starts it)")
    for item in items:
        if "docker" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """One headless Chromium per test module (support_browser's launcher), for the report's browser tests."""
    from support_browser import chromium_context

    with chromium_context(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context
