"""Governance from the console with a key held in the browser (issue #6).

A governor loads its PEM key file into the page, opens a proposal and votes
yes; the proposal executes on chain. The page builds and signs both
transactions itself: no request it makes carries the private key. An account
without a role is told so, and the node's refusal is shown with its code.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Request, expect
from tests.console.conftest import (
    CATALOGUES,
    TABLET,
    Tab,
    ThreadNode,
    audit,
    no_sideways_scroll,
    running_node,
    screenshot,
)

from consortia.crypto import KeyType, PrivateKey

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadNode]:
    with running_node(tmp_path_factory.mktemp("gov-actions") / "net") as running:
        yield running


def _roles(node: ThreadNode, address: str) -> list[str]:
    body = httpx.get(f"{node.url}/v1/governance/roles/{address}", timeout=5).json()
    return list(body["roles"])


def test_a_governor_proposes_and_votes_from_the_browser(tab: Tab, node: ThreadNode) -> None:
    page = tab.page
    admin_pem = node.root / "keys" / "org1-admin.pem"
    admin = PrivateKey.from_pem(admin_pem.read_bytes())
    secret_pem = admin_pem.read_text()
    sent: list[str] = []

    def record(request: Request) -> None:
        sent.append(f"{request.url} {request.post_data or ''}")

    page.on("request", record)
    auditor = "0x" + PrivateKey.generate(KeyType.SM2).public_key().address().hex()
    assert "auditor" not in _roles(node, auditor)

    page.goto(f"{node.url}/console/#/governance")
    page.set_input_files("#key-file", str(admin_pem))
    held = page.locator("#held-key")
    expect(held.locator('[data-value="address"]')).to_have_text(
        "0x" + admin.public_key().address().hex()
    )
    expect(page.locator("#held-roles")).to_have_attribute("data-governor", "yes")

    page.locator("#propose-kind").select_option("grant_role")
    page.get_by_label("Account address", exact=True).last.fill(auditor)
    page.locator("#propose-role").select_option("auditor")
    page.get_by_role("button", name="Sign and propose").click()
    outcome = page.locator("#propose-outcome")
    expect(outcome).to_have_attribute("data-outcome", "committed", timeout=30_000)
    assert audit(page, "en") == []
    screenshot(page, "governance-propose")

    page.locator("#created-proposal").click()
    expect(page.locator("#vote")).to_be_visible(timeout=10_000)
    page.locator('#vote [data-choice="yes"]').click()
    expect(page.locator("#vote-outcome")).to_have_attribute(
        "data-outcome", "committed", timeout=30_000
    )
    expect(page.locator("#proposal-fields .badge-status-executed")).to_be_visible(timeout=15_000)
    screenshot(page, "governance-voted")

    assert "auditor" in _roles(node, auditor)  # the proposal executed on chain
    key_body = "".join(secret_pem.strip().splitlines()[1:-1])
    assert any("/v1/transactions" in line for line in sent)
    assert not any(key_body[:48] in line or "PRIVATE KEY" in line for line in sent)
    assert tab.errors == []


def test_an_account_without_a_role_is_told_and_refused(tab: Tab, node: ThreadNode) -> None:
    page = tab.page
    page.goto(f"{node.url}/console/#/governance")
    page.locator("#key-type").select_option("sm2")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#held-roles")).to_have_attribute("data-governor", "no")
    expect(page.get_by_text(CATALOGUES["en"]["governance.key.not_governor"])).to_be_visible()
    address = page.locator('#held-key [data-value="address"]').inner_text()

    page.locator("#propose-kind").select_option("freeze_account")
    page.locator("#propose-address").fill(address)
    page.get_by_role("button", name="Sign and propose").click()
    outcome = page.locator("#propose-outcome")
    expect(outcome).to_have_attribute("data-outcome", "rejected", timeout=30_000)
    assert "TX_" in outcome.inner_text() or "GOV_" in outcome.inner_text()

    page.locator("#propose-address").fill("0x1234")  # the form itself refuses it
    page.get_by_role("button", name="Sign and propose").click()
    assert page.locator("#propose-address").evaluate("input => input.validity.patternMismatch")
    expect(outcome).to_have_attribute("data-outcome", "rejected")

    page.locator("#propose-kind").select_option("reweight_validator")
    page.locator("#propose-name").fill("org1-v0")
    page.locator("#propose-weight").fill("0")  # the page's own check: weights start at 1
    page.get_by_role("button", name="Sign and propose").click()
    expect(outcome).to_have_attribute("data-outcome", "invalid")
    expect(outcome).to_have_text(CATALOGUES["en"]["governance.act.invalid.weight"])

    page.set_viewport_size(TABLET)
    page.get_by_role("button", name="中文").click()
    assert audit(page, "zh") == []
    no_sideways_scroll(page, "the governance page with a key")
    page.locator("#forget-key").click()
    expect(page.locator("#generate-key")).to_be_visible()
    # Chromium logs the node's 403 (the refusal provoked above); nothing else may fail.
    assert [e for e in tab.errors if "status of 403" not in e] == []
