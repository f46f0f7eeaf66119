"""Headless Chromium (Debian's package) driven by playwright, shared by every browser test.

One launcher with one set of flags: headless as root, and nothing reaching out on its own
(without the networking flags Chromium's own connections are refused on these machines).
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

browser_marks = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no chromium: run scripts/setup.sh (apt package chromium)"),
]


@contextmanager
def chromium_context(profile: Path) -> Iterator:
    """A browser context with a fresh --user-data-dir of our own (playwright's persistent context)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 900})
        try:
            yield context
        finally:
            context.close()


class PageWatch:
    """Opens a page and records what a person would see go wrong in the developer console."""

    def __init__(self, context) -> None:
        self.page = context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed request: {r.url}"))

    def open(self, path: Path) -> None:
        self.problems.clear()
        self.page.goto(path.as_uri(), wait_until="load")

    def links(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "a[href], img[src], link[href]", "els => els.map(e => e.href || e.src)")

    def close(self) -> None:
        self.page.close()

    def __enter__(self) -> "PageWatch":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
