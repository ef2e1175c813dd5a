"""The console's explorer in headless Chromium against a real in-process node (issue #6).

What a person would check: a transaction sent through the REST API shows up in
the explorer's live block list within seconds and its view shows the receipt;
a block shows the validators who certified it, by name, against the quorum;
search finds a height, a transaction id, a block id and an address, and says
so clearly when nothing matches; links and the back button work; every word of
every explorer view comes from the catalogue in English and in Chinese. Each
view is saved as a screenshot under tests/artifacts/console/.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import APIResponse, Page, Route, expect
from tests.console.conftest import (
    TABLET,
    Tab,
    ThreadNode,
    audit,
    no_sideways_scroll,
    open_page,
    running_node,
    screenshot,
    script_errors,
    search,
)
from tests.support.node import signed_tx

from consortia.crypto import KeyType, PrivateKey
from consortia.modules.assets.types import Create, Issue, SupplyRule

pytestmark = pytest.mark.slow

_symbols = itertools.count()


@dataclass(frozen=True)
class Sent:
    """A committed transaction and where it landed."""

    tx_id: str
    height: int
    sender: str


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadNode]:
    with running_node(tmp_path_factory.mktemp("explorer") / "net") as running:
        yield running


def submit(node: ThreadNode, raw: bytes, wait_s: int | None = 10) -> dict[str, Any]:
    params = {} if wait_s is None else {"wait": wait_s}
    response = httpx.post(
        f"{node.url}/v1/transactions", json={"tx": raw.hex()}, params=params, timeout=15
    )
    assert response.status_code in {200, 202}, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


@pytest.fixture(scope="module")
def issued(node: ThreadNode) -> Sent:
    """A fresh account creates an asset and issues 1,000 of it to itself (both committed)."""
    key = PrivateKey.generate(KeyType.SM2)
    address = key.public_key().address()
    symbol = f"X{next(_symbols)}"
    submit(
        node,
        signed_tx(
            key, 0, "assets", "create", Create(symbol, "explorer test", 2, SupplyRule.UNLIMITED, 0)
        ),
    )
    record = submit(node, signed_tx(key, 1, "assets", "issue", Issue(symbol, address, 1000)))
    assert record["receipt"]["status"] == "OK"
    return Sent(record["tx_id"], record["height"], "0x" + address.hex())


def api(node: ThreadNode, path: str) -> dict[str, Any]:
    body = httpx.get(f"{node.url}/v1/{path}", timeout=5).json()
    assert isinstance(body, dict)
    return body


def test_a_submitted_transaction_appears_live_with_its_receipt(tab: Tab, node: ThreadNode) -> None:
    page = tab.page
    open_page(page, node, "/explorer")
    expect(page.locator("#latest-blocks tbody tr").first).to_be_visible(timeout=10_000)
    screenshot(page, "explorer-en")

    key = PrivateKey.generate(KeyType.SM2)
    create = Create(f"X{next(_symbols)}", "explorer live", 0, SupplyRule.UNLIMITED, 0)
    sent_at = time.monotonic()
    tx_id = submit(node, signed_tx(key, 0, "assets", "create", create), wait_s=None)["tx_id"]
    deadline = sent_at + 10
    while (record := api(node, f"transactions/{tx_id}"))["status"] != "committed":
        assert time.monotonic() < deadline, "the transaction did not commit within 10 s"
        time.sleep(0.05)
    height = record["height"]

    row = page.locator(f'#latest-blocks tr[data-height="{height}"]')
    expect(row).to_be_visible(timeout=5_000)  # pushed by the block event, no reload
    listed_after = time.monotonic() - sent_at
    expect(row.locator('[data-value="txs"]')).to_have_text("1")
    row.get_by_role("link").click()

    expect(page.locator("h1")).to_have_text(f"Block {height}")
    expect(page.locator("h1")).to_be_focused()
    tx_row = page.locator(f'#block-txs tr[data-tx="{tx_id}"]')
    expect(tx_row.locator('[data-value="call"]')).to_have_text("assets.create")
    expect(tx_row.locator('[data-value="status"]')).to_have_text("OK")
    tx_row.get_by_role("link").first.click()

    expect(page).to_have_url(f"{node.url}/console/#/explorer/tx/{tx_id}")
    expect(page.locator('#tx-fields [data-value="tx_id"]')).to_have_text(tx_id)
    expect(page.locator('#receipt-fields [data-value="status"]')).to_have_text("OK")
    shown_after = time.monotonic() - sent_at
    expect(page.locator('#tx-fields [data-value="call"]')).to_have_text("assets.create")
    expect(page.locator('#tx-fields [data-value="key_type"]')).to_have_text("sm2")
    expect(page.locator("#receipt-events")).to_contain_text("created")
    screenshot(page, "explorer-transaction-en")
    print(f"listed after {listed_after:.2f} s, receipt shown after {shown_after:.2f} s")
    assert listed_after < 6

    page.go_back()  # the back button returns to the block
    expect(page.locator("h1")).to_have_text(f"Block {height}")
    page.go_back()
    expect(page.locator("#latest-blocks")).to_be_visible()
    assert script_errors(tab) == []


def test_a_block_shows_its_certificate_signers_by_name(
    tab: Tab, node: ThreadNode, issued: Sent
) -> None:
    page = tab.page
    open_page(page, node, f"/explorer/block/{issued.height}")
    block = api(node, f"blocks/{issued.height}")
    expect(page.locator('#block-fields [data-value="id"]')).to_have_text(block["id"])
    expect(page.locator('#block-fields [data-field="proposer"] dd')).to_have_text("org1-v0 (org1)")
    expect(page.locator('#block-fields [data-value="state_root"]')).to_have_text(
        block["header"]["state_root"]
    )
    signers = page.locator("#qc-signers tbody tr")
    expect(signers).to_have_count(len(block["certificate"]["signers"]))
    expect(signers.first.locator('[data-value="name"]')).to_have_text("org1-v0")
    expect(signers.first.locator('[data-value="organisation"]')).to_have_text("org1")
    expect(page.locator("#qc-tally")).to_have_text(
        "Signed weight 1 of 1; the quorum is 1. quorum reached"
    )
    expect(
        page.locator(f'#block-txs tr[data-tx="{issued.tx_id}"] [data-value="status"]')
    ).to_have_text("OK")
    screenshot(page, "explorer-block-en")
    assert audit(page, "en") == []
    assert script_errors(tab) == []


def test_search_by_height_ids_address_and_garbage(tab: Tab, node: ThreadNode, issued: Sent) -> None:
    page = tab.page
    open_page(page, node, "/explorer")
    heading = page.locator("h1")
    notfound = page.locator('#explorer-search-result [data-i18n="explorer.search.notfound"]')

    search(page, str(issued.height))
    expect(heading).to_have_text(f"Block {issued.height}")
    expect(page).to_have_url(f"{node.url}/console/#/explorer/block/{issued.height}")

    search(page, issued.tx_id.removeprefix("0x").upper())  # any case, with or without 0x
    expect(heading).to_have_text("Transaction")
    expect(page.locator('#tx-fields [data-value="tx_id"]')).to_have_text(issued.tx_id)

    block_id = api(node, f"blocks/{issued.height}")["id"]
    search(page, block_id)
    expect(page).to_have_url(f"{node.url}/console/#/explorer/block/{issued.height}")

    search(page, issued.sender)
    expect(heading).to_have_text("Account")
    expect(page.locator('#account-fields [data-value="nonce"]')).to_have_text("2")
    expect(page.locator("#account-balances tbody tr")).to_have_count(1)
    expect(page.locator('#account-balances [data-value="amount"]')).to_have_text("1,000")
    expect(page.locator(f'#account-txs tr[data-tx="{issued.tx_id}"]')).to_be_visible()
    screenshot(page, "explorer-account-en")

    for garbage in ("not a block", "0x" + "ab" * 32, "99999999"):
        search(page, garbage)
        expect(notfound).to_be_visible()
        expect(notfound.locator('[data-value="query"]')).to_have_text(garbage)
    expect(heading).to_have_text("Account")  # a failed search stays where it was
    screenshot(page, "explorer-search-not-found-en")
    assert audit(page, "en") == []
    page.locator(f'#account-txs tr[data-tx="{issued.tx_id}"]').get_by_role("link").first.click()
    expect(heading).to_have_text("Transaction")
    expect(notfound).to_have_count(0)  # a new view starts with a clean search box
    assert script_errors(tab) == []


def test_explorer_views_in_chinese_at_tablet_width(
    tab: Tab, node: ThreadNode, issued: Sent
) -> None:
    page = tab.page
    page.set_viewport_size(TABLET)
    open_page(page, node, "/explorer")
    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    views = {
        "": "#latest-blocks",
        f"/block/{issued.height}": "#qc-signers",
        f"/tx/{issued.tx_id}": "#receipt-events",
        f"/account/{issued.sender}": "#account-balances",
    }
    for route, ready in views.items():
        page.evaluate(f"window.location.hash = '#/explorer{route}'")
        expect(page.locator(ready)).to_be_visible(timeout=10_000)
        assert audit(page, "zh") == [], route
        no_sideways_scroll(page, f"#/explorer{route}")
        name = route.split("/")[1] if route else "latest"
        screenshot(page, f"explorer-{name}-zh")
    expect(page.locator("h1")).to_have_text("账户")
    page.locator("#explorer-search").fill("???")
    page.locator("#explorer-search").press("Enter")
    expect(page.locator('[data-i18n="explorer.search.notfound"]')).to_contain_text("未找到")
    assert audit(page, "zh") == []
    assert script_errors(tab) == []


def shown_heights(page: Page) -> list[int]:
    """Heights of every block the console's feed holds, in order (what the tables show)."""
    heights = page.evaluate("window.consortiaConsole.feed.state.blocks.map((b) => b.height)")
    assert isinstance(heights, list)
    return [int(h) for h in heights]


def assert_consecutive(heights: list[int]) -> None:
    assert heights == list(range(heights[0], heights[0] + len(heights))), heights


def test_a_late_status_answer_does_not_drop_the_live_blocks(tab: Tab, node: ThreadNode) -> None:
    """A status poll answered after a newer block event (an old height) keeps the table.

    The feed used to take a poll below its last block for a reset chain and wipe
    its blocks, so a block shown a moment before vanished from the table.
    """
    page = tab.page
    open_page(page, node, "/explorer")
    expect(page.locator("#latest-blocks tbody tr").first).to_be_visible(timeout=10_000)
    held: list[tuple[Route, APIResponse]] = []

    def hold(route: Route) -> None:
        held.append((route, route.fetch()))  # read now, answer later

    page.route("**/v1/status", hold)
    deadline = time.monotonic() + 10
    while not held:  # the sync driver runs the handler only inside its calls
        assert time.monotonic() < deadline, "no status poll within 10 s"
        page.wait_for_timeout(50)
    route, response = held[0]
    stale = int(response.json()["height"])
    deadline = time.monotonic() + 1.5  # the poll gives up after 2 s
    while shown_heights(page)[-1] <= stale:  # a newer block (empty blocks: 1 a second)
        assert time.monotonic() < deadline, f"no block above {stale} within 1.5 s"
        page.wait_for_timeout(50)
    route.fulfill(response=response)
    page.unroute("**/v1/status")
    for later, answer in held[1:]:
        later.fulfill(response=answer)
    page.wait_for_timeout(300)
    expect(page.locator(f'#latest-blocks tr[data-height="{stale + 1}"]')).to_be_visible()
    heights = shown_heights(page)
    assert_consecutive(heights)
    assert heights[-1] > stale


def test_the_block_list_resumes_across_a_node_restart(
    tab: Tab, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Stop and start the node under an open explorer: every height shows once, none lost."""
    page = tab.page
    with running_node(tmp_path_factory.mktemp("restart") / "net") as restarting:
        open_page(page, restarting, "/explorer")
        expect(page.locator("#latest-blocks tbody tr").first).to_be_visible(timeout=10_000)
        before = restarting.status()["height"]
        restarting.stop()
        expect(page.locator(".live-down")).to_be_visible(timeout=10_000)
        restarting.start()
        after = restarting.status()["height"]
        key = PrivateKey.generate(KeyType.SM2)
        create = Create(f"X{next(_symbols)}", "restart", 0, SupplyRule.UNLIMITED, 0)
        height = submit(restarting, signed_tx(key, 0, "assets", "create", create))["height"]
        row = page.locator(f'#latest-blocks tr[data-height="{height}"]')
        expect(row).to_be_visible(timeout=15_000)
        expect(row.locator('[data-value="txs"]')).to_have_text("1")
        heights = shown_heights(page)
        assert_consecutive(heights)
        assert heights[0] <= before <= after < height <= heights[-1]
        down = ("WebSocket", "ERR_CONNECTION_REFUSED")  # the browser's log while the node is down
        assert [e for e in script_errors(tab) if not any(d in e for d in down)] == []
