"""The explorer shows a receipt's events with their declared field names and types ([EXEC-EVENT.1]).

Headless Chromium against a real in-process node: an asset is created and
issued, then the issue transaction's view lists the ``issued`` event's
attributes in the module's declared order, each labelled with the type that
``GET /v1/event-types`` publishes for it.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect
from tests.console.conftest import Tab, ThreadNode, audit, open_page, running_node, script_errors
from tests.support.node import signed_tx

from consortia.crypto import KeyType, PrivateKey
from consortia.modules.assets.types import Create, Issue, SupplyRule

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadNode]:
    with running_node(tmp_path_factory.mktemp("event-fields") / "net") as running:
        yield running


def _submit(node: ThreadNode, raw: bytes) -> dict[str, object]:
    response = httpx.post(
        f"{node.url}/v1/transactions", json={"tx": raw.hex()}, params={"wait": 10}, timeout=15
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


def test_the_receipt_view_labels_each_attribute_with_its_declared_type(
    tab: Tab, node: ThreadNode
) -> None:
    key = PrivateKey.generate(KeyType.SM2)
    address = key.public_key().address()
    _submit(
        node,
        signed_tx(key, 0, "assets", "create", Create("TYPED", "t", 0, SupplyRule.UNLIMITED, 0)),
    )
    issued = _submit(node, signed_tx(key, 1, "assets", "issue", Issue("TYPED", address, 1234)))
    page = tab.page
    open_page(page, node, f"/explorer/tx/{issued['tx_id']}")
    events = page.locator("#receipt-events")
    expect(events).to_contain_text("issued")
    fields = events.locator("code[data-field]")
    expect(fields).to_have_count(3)
    amount = events.locator('code[data-field="amount"]')
    expect(amount).to_have_attribute("data-type", "uint")  # typed once /v1/event-types loaded
    expect(amount).to_have_text("amount=1234")
    expect(amount).to_have_attribute("title", "amount: uint")
    expect(events.locator('code[data-field="to"]')).to_have_attribute("data-type", "bytes")
    expect(events.locator('code[data-field="symbol"]')).to_have_attribute("data-type", "string")
    assert [f.get_attribute("data-field") for f in fields.all()] == ["symbol", "to", "amount"]
    recipient = events.locator(f'code[data-field="to"] a[title="0x{address.hex()}"]')
    expect(recipient).to_be_visible()
    assert audit(page, "en") == []
    assert script_errors(tab) == []
