"""The explorer's assets and events in headless Chromium against a real in-process node (issue #6).

What a person would check: an asset created, issued and transferred through
the SDK is listed among the assets with its supply; its view shows the
definition, the supply in base and whole units and both holders; typing its
symbol (in any case) into the search box opens that view; its symbol in an
account's balances links there; the events view lists the ``issued`` and
``transferred`` events, each linking to its transaction, picks up a new one
without a reload, and filters by module; every word comes from the catalogue
in English and in Chinese, and nothing scrolls sideways at tablet width.
Screenshots: ``explorer-assets*.png``, ``explorer-asset*.png``, ``explorer-events*.png``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect
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

from consortia.crypto import KeyType
from consortia.sdk import Client, Signer

pytestmark = pytest.mark.slow

_symbols = itertools.count()


@dataclass(frozen=True)
class Story:
    """``issuer`` created ``symbol`` (2 decimals, capped at 10,000.00), issued 1,500.00 to
    ``alice``, and alice sent 500.00 to ``bob``."""

    symbol: str
    issuer: str
    alice: str
    bob: str
    issue_tx: str
    transfer_tx: str
    transfer_height: int


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadNode]:
    with running_node(tmp_path_factory.mktemp("explorer-assets") / "net") as running:
        yield running


def hex_address(signer: Signer) -> str:
    return "0x" + signer.address.hex()


@pytest.fixture(scope="module")
def story(node: ThreadNode) -> Story:
    issuer, alice, bob = (Signer.generate(KeyType.SM2) for _ in range(3))
    symbol = f"GLD{next(_symbols)}"
    with Client(node.url, timeout=30) as client:
        client.create_asset(
            issuer,
            symbol,
            name="Test gold",
            decimals=2,
            supply_rule="capped",
            max_supply=1_000_000,
        )
        issued = client.issue(issuer, symbol, alice.address, 150_000)
        sent = client.transfer(alice, symbol, bob.address, 50_000)
    assert sent.height is not None
    return Story(
        symbol=symbol,
        issuer=hex_address(issuer),
        alice=hex_address(alice),
        bob=hex_address(bob),
        issue_tx=issued.tx_id,
        transfer_tx=sent.tx_id,
        transfer_height=sent.height,
    )


def test_the_assets_list_shows_the_asset_with_its_supply_and_holders(
    tab: Tab, node: ThreadNode, story: Story
) -> None:
    page = tab.page
    open_page(page, node, "/explorer")
    sections = page.get_by_role("navigation", name="Explorer sections")
    sections.get_by_role("link", name="Assets").click()
    expect(page).to_have_url(f"{node.url}/console/#/explorer/assets")
    expect(page.locator("h1")).to_have_text("Assets")
    expect(page.locator("h1")).to_be_focused()
    expect(sections.get_by_role("link", name="Assets")).to_have_attribute("aria-current", "page")

    row = page.locator(f'#assets-list tr[data-asset="{story.symbol}"]')
    expect(row.locator('[data-value="symbol"]')).to_have_text(story.symbol)
    expect(row.locator('[data-value="name"]')).to_have_text("Test gold")
    expect(row.locator('[data-value="decimals"]')).to_have_text("2")
    expect(row.locator('[data-i18n="explorer.rule.capped"]')).to_have_text("capped")
    expect(row.locator('[data-value="supply"]')).to_have_text("150,000")
    expect(row.locator('[data-value="issuer"]')).to_have_attribute("title", story.issuer)
    expect(page.locator("#assets-more")).to_have_count(0)  # one page holds them all
    headers = page.locator("#assets-list thead th")
    expect(headers).to_have_count(6)
    for i in range(6):
        expect(headers.nth(i)).to_have_attribute("scope", "col")
    screenshot(page, "explorer-assets")
    assert audit(page, "en") == []

    row.get_by_role("link", name=story.symbol).click()
    expect(page).to_have_url(f"{node.url}/console/#/explorer/asset/{story.symbol}")
    expect(page.locator("h1")).to_have_text(f"Asset {story.symbol}")
    fields = page.locator("#asset-fields")
    expect(fields.locator('[data-value="issuer"]')).to_have_text(story.issuer)
    expect(fields.locator('[data-field="max_supply"] dd')).to_have_text(
        f"1,000,000 base units (10,000.00 {story.symbol})"
    )
    expect(fields.locator('[data-field="supply"] dd')).to_have_text(
        f"150,000 base units (1,500.00 {story.symbol})"
    )
    expect(fields.locator('[data-field="burnable"] dd')).to_have_text(
        "yes: holders may burn their units"
    )
    holders = page.locator("#asset-holders tbody tr")
    expect(holders).to_have_count(2)
    alice, bob = (
        page.locator(f'#asset-holders tr[data-holder="{a}"]') for a in (story.alice, story.bob)
    )
    expect(alice.locator('[data-value="amount"]')).to_have_text("100,000")
    expect(alice.locator('[data-value="share"]')).to_have_text("66.67%")
    expect(bob.locator('[data-value="amount"]')).to_have_text("50,000")
    expect(page.locator("#holders-more")).to_have_count(0)
    screenshot(page, "explorer-asset")
    assert audit(page, "en") == []

    bob.get_by_role("link").click()  # a holder links to its account, whose balance links back
    expect(page.locator("h1")).to_have_text("Account")
    page.locator("#account-balances").get_by_role("link", name=story.symbol).click()
    expect(page.locator("h1")).to_have_text(f"Asset {story.symbol}")
    assert script_errors(tab) == []


def test_search_by_symbol_opens_the_asset_and_the_rest_still_works(
    tab: Tab, node: ThreadNode, story: Story
) -> None:
    page = tab.page
    open_page(page, node, "/explorer")
    heading = page.locator("h1")
    notfound = page.locator('#explorer-search-result [data-i18n="explorer.search.notfound"]')

    search(page, story.symbol.lower())  # symbols are upper case: any case finds it
    expect(page).to_have_url(f"{node.url}/console/#/explorer/asset/{story.symbol}")
    expect(heading).to_have_text(f"Asset {story.symbol}")

    search(page, str(story.transfer_height))  # heights, ids and addresses as before
    expect(heading).to_have_text(f"Block {story.transfer_height}")
    search(page, story.transfer_tx)
    expect(heading).to_have_text("Transaction")
    search(page, story.bob)
    expect(heading).to_have_text("Account")

    for unknown in ("NOSUCHASSET", "not a symbol"):
        search(page, unknown)
        expect(notfound).to_be_visible()
        expect(notfound.locator('[data-value="query"]')).to_have_text(unknown)
    expect(heading).to_have_text("Account")
    assert audit(page, "en") == []
    assert script_errors(tab) == []


def test_the_events_view_lists_issue_and_transfer_and_links_to_the_transactions(
    tab: Tab, node: ThreadNode, story: Story
) -> None:
    page = tab.page
    open_page(page, node, "/explorer")
    page.get_by_role("navigation", name="Explorer sections").get_by_role(
        "link", name="Events"
    ).click()
    expect(page).to_have_url(f"{node.url}/console/#/explorer/events")
    expect(page.locator("h1")).to_have_text("Events")

    issued = page.locator(f'#event-log tr[data-tx="{story.issue_tx}"][data-event="issued"]')
    sent = page.locator(f'#event-log tr[data-tx="{story.transfer_tx}"][data-event="transferred"]')
    expect(issued.locator('[data-value="module"]')).to_have_text("assets")
    expect(issued.locator('[data-value="attributes"]')).to_contain_text("amount=150000")
    expect(sent.locator('[data-value="height"]')).to_have_text(str(story.transfer_height))
    expect(sent.locator('[data-value="attributes"]')).to_contain_text("amount=50000")
    recipient = sent.locator(f'[data-value="attributes"] a[title="{story.bob}"]')
    expect(recipient).to_have_attribute("href", f"#/explorer/account/{story.bob}")
    # Newest first: the transfer comes before the issue.
    rows = page.locator("#event-log tbody tr")
    order = rows.evaluate_all("rows => rows.map(r => r.dataset.event + ' ' + r.dataset.tx)")
    assert order.index(f"transferred {story.transfer_tx}") < order.index(f"issued {story.issue_tx}")
    screenshot(page, "explorer-events")
    assert audit(page, "en") == []

    # A new event appears without a reload (the newest page is re-read every 2 s).
    with Client(node.url, timeout=30) as client:
        late = client.create_asset(
            Signer.generate(KeyType.SM2),
            f"LATE{next(_symbols)}",
            name="late",
            decimals=0,
            supply_rule="unlimited",
        )
    expect(
        page.locator(f'#event-log tr[data-tx="{late.tx_id}"][data-event="created"]')
    ).to_be_visible(timeout=10_000)

    sent.locator('[data-value="tx_id"]').click()  # the transaction link
    expect(page).to_have_url(f"{node.url}/console/#/explorer/tx/{story.transfer_tx}")
    expect(page.locator("#receipt-events")).to_contain_text("transferred")
    page.locator("#receipt-events").get_by_role("link", name=story.symbol).click()
    expect(page.locator("h1")).to_have_text(f"Asset {story.symbol}")
    page.go_back()
    page.go_back()
    expect(page.locator("h1")).to_have_text("Events")

    # Filter by module with the keyboard alone: the field, then Enter.
    field = page.get_by_label("Module", exact=True)
    field.focus()
    page.keyboard.type("governance")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{node.url}/console/#/explorer/events/governance")
    expect(page.locator(f'#event-log tr[data-tx="{story.issue_tx}"]')).to_have_count(0)
    field = page.get_by_label("Module", exact=True)
    field.fill("assets")
    field.press("Enter")
    expect(page).to_have_url(f"{node.url}/console/#/explorer/events/assets")
    expect(sent).to_be_visible()
    modules = page.locator('#event-log [data-value="module"]').all_text_contents()
    assert modules and set(modules) == {"assets"}
    screenshot(page, "explorer-events-assets")
    assert audit(page, "en") == []
    page.locator("#events-all").click()
    expect(page).to_have_url(f"{node.url}/console/#/explorer/events")

    page.evaluate("window.location.hash = '#/explorer/events/not a module'")
    expect(page.locator('[data-i18n="explorer.events.bad_module"]')).to_be_visible()
    assert script_errors(tab) == []


def test_older_events_load_page_by_page_from_the_keyboard(tab: Tab, tmp_path: Path) -> None:
    """60 events are more than the console's page of 50: "Load older events" brings the rest."""
    signer = Signer.generate(KeyType.SM2)
    made = [f"OLD{i}" for i in range(60)]
    with running_node(tmp_path / "net") as own, Client(own.url, timeout=30) as client:
        for symbol in made[:-1]:
            client.create_asset(
                signer, symbol, name=symbol, decimals=0, supply_rule="unlimited", wait=None
            )
        client.create_asset(signer, made[-1], name="last", decimals=0, supply_rule="unlimited")
        page = tab.page
        open_page(page, own, "/explorer/events/assets")
        rows = page.locator("#event-log tbody tr")
        expect(rows).to_have_count(50)
        newest = page.locator(
            '#event-log [data-value="attributes"] a[href^="#/explorer/asset/"]'
        ).first
        expect(newest).to_have_text(made[-1])
        older = page.get_by_role("button", name="Load older events")
        screenshot(page, "explorer-events-first-page")
        older.focus()
        page.keyboard.press("Enter")
        expect(rows).to_have_count(60)
        expect(older).to_have_count(0)  # the walk reached genesis: nothing older
        shown = page.locator(
            '#event-log [data-value="attributes"] a[href^="#/explorer/asset/"]'
        ).all_text_contents()
        assert shown == made[::-1]
        assert audit(page, "en") == []
    assert script_errors(tab) == []


def test_assets_and_events_in_chinese_at_tablet_width(
    tab: Tab, node: ThreadNode, story: Story
) -> None:
    page = tab.page
    page.set_viewport_size(TABLET)
    open_page(page, node, "/explorer")
    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    views = {
        "/assets": ("#assets-list", "assets"),
        f"/asset/{story.symbol}": ("#asset-holders", "asset"),
        "/events": ("#event-log", "events"),
    }
    for route, (ready, name) in views.items():
        page.evaluate(f"window.location.hash = '#/explorer{route}'")
        expect(page.locator(ready)).to_be_visible(timeout=10_000)
        assert audit(page, "zh") == [], route
        if name == "asset":
            expect(page.locator('#asset-fields [data-field="supply"] dd')).to_have_text(
                f"150,000 最小单位（1,500.00 {story.symbol}）"
            )
        no_sideways_scroll(page, f"#/explorer{route}")
        screenshot(page, f"explorer-{name}-zh")
    expect(page.locator("h1")).to_have_text("事件")
    assert script_errors(tab) == []
