"""The console against a four-validator devnet of real node processes (issue #6).

What a person watching a real network would check: validator 0's dashboard
shows the height advancing, lists the four validators with their organisations
and weights, the other three "up", and counts transactions sent through the
other three; when validator 2's process is killed validator 0's console shows
it "down" within seconds while the chain goes on with three of four, and "up"
again once it is restarted; a console open on validator 1 says "Node
unreachable" while validator 1's process is stopped and picks the restarted
process up again without a reload; a transaction sent through the SDK to
validator 3 shows up in validator 0's explorer within seconds. The views are
saved as screenshots under tests/artifacts/console/ (``devnet-*.png``).

Every test leaves all four processes running; one that stopped a validator
restarts it even when it fails, so the next test starts from a whole network.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect
from tests.console.conftest import Tab, screenshot
from tests.support.network import LiveNetwork, live_network

from consortia.crypto import KeyType
from consortia.sdk import Client, Signer

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bft")]

FAST = {"base_timeout_ms": 1000, "idle_block_interval_ms": 300}
VALIDATORS = 4
HEIGHT = '[data-stat="height"] [data-value="height"]'
#: Generous bounds (the suite runs two workers, each may run a network): every
#: wait below polls and returns as soon as its condition holds.
LIVE_MS = 30_000
LINK_MS = 30_000


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNetwork]:
    with live_network(tmp_path_factory.mktemp("devnet"), validators=VALIDATORS, timing=FAST) as net:
        net.wait_height(0, 2)
        yield net


@pytest.fixture
def whole(devnet: LiveNetwork) -> Iterator[LiveNetwork]:
    """The devnet with every validator linked to every other, restored afterwards."""
    wait_all_linked(devnet)
    try:
        yield devnet
    finally:
        for name in devnet.names:
            if devnet.processes.pid(name) is None:
                devnet.processes.start(name)


def links(net: LiveNetwork, i: int) -> list[dict[str, object]]:
    """Node ``i``'s ``GET /v1/validators/links`` (empty while it does not answer)."""
    with contextlib.suppress(httpx.HTTPError):
        body = httpx.get(f"{net.api(i)}/v1/validators/links", timeout=2).json()
        validators: list[dict[str, object]] = body["validators"]
        return validators
    return []


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Poll ``condition`` until it holds; returns the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - started


def wait_all_linked(net: LiveNetwork, timeout_s: float = 60.0) -> None:
    """Until every node reports a connected link to each of the other three."""

    def linked() -> bool:
        for i in range(VALIDATORS):
            reported = links(net, i)
            if len(reported) != VALIDATORS:
                return False
            if not all(link["self"] or link["connected"] for link in reported):
                return False
        return True

    wait_for(linked, timeout_s, "every validator to be linked to every other")


def open_console(page: Page, net: LiveNetwork, i: int, route: str = "") -> None:
    """Load validator ``i``'s console (at ``#/<route>``) and wait until it is live."""
    page.goto(f"{net.api(i)}/console/{f'#/{route}' if route else ''}")
    expect(page.locator(".live-up")).to_be_visible(timeout=LIVE_MS)


def shown_height(page: Page) -> int:
    text = page.locator(HEIGHT).inner_text().strip()
    return -1 if text == "—" else int(text.replace(",", ""))


def wait_blocks(page: Page, count: int, what: str) -> float:
    """Until the dashboard's height is ``count`` above what it shows now."""
    start = shown_height(page)
    return wait_for(lambda: shown_height(page) >= start + count, LIVE_MS / 1000, what)


def health(page: Page, index: int) -> str:
    """The ``data-link`` state (self, up, down) of validator ``index``'s health cell."""
    return page.locator(f'td[data-health="{index}"] [data-link]').get_attribute("data-link") or ""


def expect_link(page: Page, index: int, state: str, timeout_ms: int = LINK_MS) -> None:
    cell = page.locator(f'td[data-health="{index}"] [data-link]')
    expect(cell).to_have_attribute("data-link", state, timeout=timeout_ms)


def offline_noise(errors: list[str]) -> list[str]:
    """Script errors, less Chromium's log of requests to a node that is down."""
    return [e for e in errors if "ERR_CONNECTION_REFUSED" not in e and "WebSocket" not in e]


def test_dashboard_lists_four_validators_and_their_links(tab: Tab, whole: LiveNetwork) -> None:
    page = tab.page
    open_console(page, whole, 0)
    expect(page.locator(HEIGHT)).not_to_have_text("—", timeout=LIVE_MS)
    wait_blocks(page, 3, "three more blocks on validator 0's dashboard")

    epoch = httpx.get(f"{whole.api(0)}/v1/epochs/current", timeout=5).json()
    rows = page.locator("#main tbody tr:has(td[data-health])")
    expect(rows).to_have_count(VALIDATORS, timeout=LIVE_MS)
    for index, validator in enumerate(epoch["validators"]):
        row = rows.nth(index)
        expect(row.locator('[data-value="name"]')).to_have_text(validator["name"])
        expect(row.locator('[data-value="organisation"]')).to_have_text(f"org{index + 1}")
        expect(row.locator('[data-value="weight"]')).to_have_text(str(validator["weight"]))
        assert validator["weight"] > 0
    expect_link(page, 0, "self")
    for index in (1, 2, 3):
        expect_link(page, index, "up")
        expect(page.locator(f'td[data-health="{index}"]')).to_contain_text("up (last message")

    counter = page.locator('#committed-since-open [data-value="txs"]')
    before = int(counter.inner_text().replace(",", ""))
    for index in (1, 2, 3):  # one transaction through each of the other validators
        with Client(whole.api(index), timeout=30) as validator:
            validator.create_asset(
                Signer.generate(KeyType.SM2),
                f"DASH{index}",
                name="devnet dashboard",
                decimals=0,
                supply_rule="unlimited",
                wait=30,
            )
    expect(counter).to_have_text(str(before + 3), timeout=LIVE_MS)
    screenshot(page, "devnet-dashboard")
    assert tab.errors == []


def test_a_killed_validator_shows_down_while_three_keep_committing(
    tab: Tab, whole: LiveNetwork
) -> None:
    page = tab.page
    open_console(page, whole, 0)
    for index in (1, 2, 3):
        expect_link(page, index, "up")

    whole.processes.kill(whole.names[2])  # a crash: SIGKILL, no shutdown code runs
    killed_at = time.monotonic()
    expect_link(page, 2, "down")
    down_after = time.monotonic() - killed_at
    expect(page.locator('td[data-health="2"]')).to_have_text("down")
    assert [health(page, index) for index in (1, 3)] == ["up", "up"]
    wait_blocks(page, 3, "three blocks committed by validators 0, 1 and 3")
    assert whole.status(2) is None
    screenshot(page, "devnet-validator-down")

    whole.processes.start(whole.names[2])
    restarted_at = time.monotonic()
    expect_link(page, 2, "up")
    up_after = time.monotonic() - restarted_at
    whole.wait_height(2, whole.height(0), timeout_s=60)  # it caught up with the others
    wait_blocks(page, 2, "blocks after validator 2 is back")
    screenshot(page, "devnet-validator-back")
    print(f"shown down {down_after:.1f} s after the kill, up {up_after:.1f} s after the restart")
    assert tab.errors == []


def test_the_console_of_a_restarted_process_reconnects(tab: Tab, whole: LiveNetwork) -> None:
    page = tab.page
    banner = page.locator("#node-banner")
    open_console(page, whole, 1)
    expect(banner).to_have_count(0)
    wait_blocks(page, 2, "blocks on validator 1's dashboard")

    exit_code = whole.processes.stop(whole.names[1])
    assert exit_code is not None
    expect(banner).to_be_visible(timeout=LIVE_MS)
    expect(banner).to_have_attribute("role", "alert")
    expect(banner).to_contain_text("Node unreachable")
    expect(page.locator(".live-down")).to_be_visible()
    stopped_at = shown_height(page)
    screenshot(page, "devnet-node-unreachable")

    whole.processes.start(whole.names[1])
    expect(banner).to_have_count(0, timeout=LIVE_MS)
    expect(page.locator(".live-up")).to_be_visible()
    wait_for(
        lambda: shown_height(page) > stopped_at + 2,
        LIVE_MS / 1000,
        "validator 1's restarted process to show new blocks",
    )
    assert offline_noise(tab.errors) == []


def test_a_transaction_sent_to_validator_3_appears_in_validator_0s_explorer(
    tab: Tab, whole: LiveNetwork
) -> None:
    page = tab.page
    open_console(page, whole, 0, "explorer")
    expect(page.locator("#latest-blocks tbody tr").first).to_be_visible(timeout=LIVE_MS)

    signer = Signer.generate(KeyType.SM2)
    sent_at = time.monotonic()
    with Client(whole.api(3), timeout=30) as validator_3:
        record = validator_3.create_asset(
            signer, "DEVNET", name="devnet console", decimals=0, supply_rule="unlimited", wait=30
        )
    assert record.status == "committed" and record.height is not None
    tx_id = record.tx_id

    row = page.locator(f'#latest-blocks tr[data-height="{record.height}"]')
    expect(row).to_be_visible(timeout=LIVE_MS)  # validator 0's own block event, no reload
    expect(row.locator('[data-value="txs"]')).to_have_text("1")
    listed_after = time.monotonic() - sent_at

    page.get_by_role("searchbox", name="Search the chain").fill(tx_id)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(f"{whole.api(0)}/console/#/explorer/tx/{tx_id}")
    expect(page.locator('#tx-fields [data-value="tx_id"]')).to_have_text(tx_id)
    expect(page.locator('#tx-fields [data-value="call"]')).to_have_text("assets.create")
    expect(page.locator('#receipt-fields [data-value="status"]')).to_have_text("OK")
    shown_after = time.monotonic() - sent_at
    screenshot(page, "devnet-explorer-transaction")
    print(f"listed on validator 0 after {listed_after:.2f} s, found after {shown_after:.2f} s")
    assert shown_after < 20, f"took {shown_after:.1f} s to show on validator 0"
    # Search tries the 64 hex digits as a block id first: Chromium logs that 404.
    assert [e for e in tab.errors if "status of 404" not in e] == []
