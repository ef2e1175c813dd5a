"""Headless Chromium (Debian's, driven by Playwright) and the console tests' shared helpers.

Playwright is launched on ``/usr/bin/chromium`` (``make setup`` installs it through
scripts/setup-system.sh); ``playwright install`` is never used. Screenshots go to
``tests/artifacts/console/`` (git-ignored); docs/console.md embeds committed copies.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    Page,
    Playwright,
    ViewportSize,
    expect,
    sync_playwright,
)
from tests.support.node import ThreadNode

from consortia.console import STATIC_DIR, VENDOR_FILES
from consortia.execution.policy import ChainPolicy

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parents[1] / "artifacts" / "console"
AUDIT_SCRIPT = (Path(__file__).parent / "dom_audit.js").read_text(encoding="utf-8")
CATALOGUES: dict[str, dict[str, str]] = {
    lang: json.loads((STATIC_DIR / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
    for lang in ("en", "zh")
}
"""The console's message catalogues, by language."""
LAPTOP: ViewportSize = {"width": 1280, "height": 800}
TABLET: ViewportSize = {"width": 768, "height": 1024}


@contextlib.contextmanager
def running_node(
    root: Path, policy: ChainPolicy | None = None, suite: str = "sm"
) -> Iterator[ThreadNode]:
    """A started :class:`ThreadNode` (``policy``: the genesis chain policy), stopped on exit."""
    node = ThreadNode(root, policy, suite)
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium")
    if not all((STATIC_DIR / "vendor" / name).is_file() for name in VENDOR_FILES):
        pytest.fail("the console's vendored libraries are missing: run `make setup`")
    # Module scope: the sync driver keeps an event loop marked running on this thread
    # while it is started, which async tests in other modules must not see.
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
    try:
        yield chromium
    finally:
        chromium.close()


@dataclass
class Tab:
    """A browser page and the script errors it reported (uncaught or ``console.error``)."""

    page: Page
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    """A fresh page in its own context (own storage, English locale, laptop viewport)."""
    context = browser.new_context(viewport=LAPTOP, locale="en-US")
    opened = Tab(context.new_page())
    opened.page.on("pageerror", lambda error: opened.errors.append(str(error)))
    opened.page.on(
        "console",
        lambda message: opened.errors.append(message.text) if message.type == "error" else None,
    )
    try:
        yield opened
    finally:
        context.close()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as ``tests/artifacts/console/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def dom_audit(page: Page, lang: str) -> dict[str, Any]:
    """Run dom_audit.js in ``page`` against the ``lang`` catalogue: ``{problems, shown}``."""
    result = page.evaluate(AUDIT_SCRIPT, CATALOGUES[lang])
    assert isinstance(result, dict)
    return result


def audit(page: Page, lang: str) -> list[str]:
    """What the audit found: visible text outside the ``lang`` catalogue or differing from it."""
    problems = dom_audit(page, lang)["problems"]
    assert isinstance(problems, list)
    return problems


def open_page(page: Page, node: ThreadNode, route: str = "/") -> None:
    """Load the console at ``#<route>`` and wait until it shows live data from the node."""
    page.goto(f"{node.url}/console/#{route}")
    expect(page.locator(".live-up")).to_be_visible(timeout=15_000)


def search(page: Page, query: str) -> None:
    """Search the chain from the explorer's search box."""
    page.get_by_role("searchbox", name="Search the chain").fill(query)
    page.get_by_role("button", name="Search", exact=True).click()


def script_errors(tab: Tab) -> list[str]:
    """The page's errors, less Chromium's log of the 404s a search is expected to meet."""
    return [e for e in tab.errors if "status of 404" not in e]


def no_sideways_scroll(page: Page, where: str) -> None:
    """Fail if the page is wider than the viewport (checked at tablet width)."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{where} scrolls sideways by {overflow} px at tablet width"
