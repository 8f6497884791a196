"""A real headless browser for the pages people read: Debian's chromium, driven by Playwright.

Playwright's own `playwright install` downloads a browser build, which these machines cannot; the
system's chromium (apt package `chromium`, installed by .ci/run) is launched by its path. Without
it the test fails, naming the package: a page nobody checked is not a page that passed.
"""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest

# No network: without these, chromium keeps trying to reach Google's services from a closed machine.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail(
            "the browser tests need Debian's chromium package: sudo apt-get install chromium "
            "fonts-noto-cjk (or set CHROMIUM to a chromium binary)",
            pytrace=False,
        )
    return path


@contextlib.contextmanager
def chromium_page():
    """(page, problems): a fresh page in headless chromium, and every console error and uncaught
    page error it reports while the block runs (as 'console: …' / 'pageerror: …')."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
            yield page, problems
        finally:
            browser.close()
