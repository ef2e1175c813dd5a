"""The console in headless Chromium against a real in-process node (issue #6, first slice).

What a person would check: the dashboard's height advances; a committed
transaction moves the tx/s chart and the counter; every visible word comes from
the catalogue and switching to Chinese changes every label; the console is
usable by keyboard and at tablet width; a banner says the node is unreachable
while it is down and goes away when it is back. Each state is saved as a
screenshot under tests/artifacts/console/.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, WebSocketRoute, expect
from tests.console.conftest import (
    CATALOGUES,
    TABLET,
    Tab,
    ThreadNode,
    dom_audit,
    no_sideways_scroll,
    running_node,
    screenshot,
)
from tests.support.node import signed_tx

from consortia.crypto import KeyType, PrivateKey
from consortia.modules.assets.types import Create, SupplyRule

pytestmark = pytest.mark.slow

_symbols = itertools.count()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadNode]:
    with running_node(tmp_path_factory.mktemp("console") / "net") as running:
        yield running


def open_console(page: Page, node: ThreadNode, path: str = "") -> None:
    """Load the console and wait until it shows live data from the node."""
    page.goto(f"{node.url}/console/{path}")
    expect(page.locator(".live-up")).to_be_visible(timeout=15_000)
    if not path:  # the dashboard: wait for the figures that need the block history
        interval = page.locator('[data-stat="interval"] [data-i18n="unit.seconds"]')
        expect(interval).to_be_visible(timeout=15_000)


def value(page: Page, selector: str) -> str:
    return page.locator(selector).first.inner_text().strip()


def number(page: Page, selector: str) -> int:
    return int(value(page, selector).replace(",", ""))


def wait_for(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.2)


def create_asset(node: ThreadNode) -> None:
    """One committed transaction, sent through the REST API by a fresh account."""
    key = PrivateKey.generate(KeyType.SM2)
    create = Create(f"C{next(_symbols)}", "console test", 2, SupplyRule.UNLIMITED, 0)
    raw = signed_tx(key, 0, "assets", "create", create)
    response = httpx.post(
        f"{node.url}/v1/transactions", json={"tx": raw.hex()}, params={"wait": 10}, timeout=15
    )
    assert response.status_code == 200, response.text
    assert response.json()["receipt"]["status"] == "OK"


def test_dashboard_height_advances(tab: Tab, node: ThreadNode) -> None:
    page = tab.page
    open_console(page, node)
    height = '[data-stat="height"] [data-value="height"]'
    expect(page.locator(height)).not_to_have_text("—")
    first = number(page, height)
    wait_for(lambda: number(page, height) >= first + 2, 15, "two more blocks on the dashboard")
    assert number(page, height) <= node.status()["height"] + 1
    expect(page.locator('[data-value="chain_id"]')).to_have_text("consortia-devnet")
    expect(page.locator('[data-value="organisation"]')).to_have_text("org1")
    expect(page.locator('[data-stat="leader"] [data-value="leader"]')).to_have_text("org1-v0")
    expect(page.locator('[data-i18n="dashboard.evidence.none"]')).to_be_visible()
    screenshot(page, "dashboard-en")
    assert tab.errors == []


def test_committed_transaction_moves_chart_and_counter(tab: Tab, node: ThreadNode) -> None:
    page = tab.page
    open_console(page, node)
    counter = '#committed-since-open [data-value="txs"]'
    chart = page.locator("svg.sparkline")
    before_count = number(page, counter)
    before_total = int(chart.get_attribute("data-total") or 0)
    for _ in range(3):
        create_asset(node)
    wait_for(lambda: number(page, counter) >= before_count + 3, 30, "the counter to count 3 txs")
    wait_for(
        lambda: int(chart.get_attribute("data-total") or 0) >= before_total + 3,
        10,
        "the chart to include 3 txs",
    )
    screenshot(page, "dashboard-after-transactions")
    assert tab.errors == []


def test_counter_includes_blocks_committed_while_the_stream_was_cut(
    tab: Tab, node: ThreadNode
) -> None:
    """Blocks committed while the event stream is cut (a lagging subscriber the node
    closes with 1013, a reconnection) are counted once the console reloads them."""
    page = tab.page
    cut = threading.Event()
    sockets: list[WebSocketRoute] = []

    def relay(socket: WebSocketRoute) -> None:
        sockets.append(socket)
        if not cut.is_set():
            socket.connect_to_server()  # a straight relay to the node
        # while cut: the page's socket stays open and hears nothing

    page.route_web_socket("**/v1/events**", relay)  # with its ?after= cursor
    open_console(page, node)
    counter = '#committed-since-open [data-value="txs"]'
    before = number(page, counter)
    cut.set()
    sockets[-1].close(code=1000)  # reconnects, into the cut
    for _ in range(100):
        if len(sockets) >= 2:
            break
        page.wait_for_timeout(100)  # the sync driver runs the relay only inside its calls
    assert len(sockets) >= 2, "the console did not reconnect"
    for _ in range(3):
        create_asset(node)
    page.wait_for_timeout(1500)
    assert number(page, counter) == before  # nothing heard while cut
    cut.clear()
    sockets[-1].close(code=1013)  # "try again later": the console reconnects at once
    wait_for(lambda: number(page, counter) == before + 3, 20, "the counter to count the 3 txs")
    assert [e for e in tab.errors if "WebSocket" not in e] == []


def test_every_label_comes_from_the_catalogue_and_switches_to_chinese(
    tab: Tab, node: ThreadNode
) -> None:
    page = tab.page
    open_console(page, node)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    english = dom_audit(page, "en")
    assert english["problems"] == []
    assert len(english["shown"]) > 40

    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("button", name="中文")).to_have_attribute("aria-pressed", "true")
    chinese = dom_audit(page, "zh")
    assert chinese["problems"] == []
    assert set(chinese["shown"]) == set(english["shown"])
    unchanged = [
        key
        for key in english["shown"]
        if CATALOGUES["en"][key] != CATALOGUES["zh"][key]
        and chinese["shown"][key] == english["shown"][key]
    ]
    assert unchanged == []
    assert page.title().endswith("Consortia 控制台")
    screenshot(page, "dashboard-zh")

    page.reload()  # the choice is remembered
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.get_by_role("link", name="证明").click()
    expect(page.locator("h1")).to_have_text("证明")
    assert dom_audit(page, "zh")["problems"] == []
    screenshot(page, "proofs-zh")
    assert tab.errors == []


def test_keyboard_and_tablet_width(tab: Tab, node: ThreadNode) -> None:
    page = tab.page
    page.set_viewport_size(TABLET)
    open_console(page, node)
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    explorer = page.get_by_role("link", name="Explorer")
    explorer.focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_be_focused()
    expect(explorer).to_have_attribute("aria-current", "page")
    page.get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.locator("h1")).to_have_text("Dashboard")
    for landmark in ("banner", "navigation", "main"):
        expect(page.get_by_role(landmark)).to_have_count(1)
    no_sideways_scroll(page, "the page")
    screenshot(page, "dashboard-tablet")
    assert tab.errors == []


def test_banner_while_the_node_is_down_and_reconnects(
    tab: Tab, tmp_path_factory: pytest.TempPathFactory
) -> None:
    page = tab.page
    banner = page.locator("#node-banner")
    height = '[data-stat="height"] [data-value="height"]'
    with running_node(tmp_path_factory.mktemp("restart") / "net") as node:
        open_console(page, node)
        expect(banner).to_have_count(0)
        wait_for(lambda: number(page, height) >= 2, 10, "a few blocks before the stop")
        node.stop()
        expect(banner).to_be_visible(timeout=5_000)
        expect(banner).to_have_attribute("role", "alert")
        expect(page.locator(".live-down")).to_be_visible()
        stopped_at = number(page, height)
        screenshot(page, "dashboard-node-down")
        assert dom_audit(page, "en")["problems"] == []

        node.start()
        expect(banner).to_have_count(0, timeout=10_000)
        wait_for(lambda: number(page, height) > stopped_at, 10, "blocks after the restart")
    failures = [e for e in tab.errors if "ERR_CONNECTION_REFUSED" not in e and "WebSocket" not in e]
    assert failures == []
