"""The proofs page in headless Chromium against a real in-process node (issue #6).

The page must check what the node sends, not believe it: a block's certificate,
a transaction's inclusion and a balance's state proof verify in the browser
(SM3/SM2 on an ``sm`` chain, SHA-256/P-256 on an ``intl`` one), and the same
data with one bit changed, by the page's own tamper link or in transit on the
network, is shown failing at the step that catches it. Every word comes from
the catalogue in both languages. Screenshots go to tests/artifacts/console/.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Page, Route, expect
from tests.console.conftest import (
    CATALOGUES,
    Tab,
    ThreadNode,
    audit,
    running_node,
    screenshot,
)
from tests.support.node import signed_tx

from consortia.crypto import KeyType, PrivateKey, sm3
from consortia.modules.assets.types import Create, Issue, SupplyRule, Transfer, balance_key

pytestmark = pytest.mark.slow

BLOCK_STEPS = [
    "anchor", "decode", "block_id", "tx_root", "validators_genesis", "proposer", "qc_names", "qc",
]  # fmt: skip


@dataclass(frozen=True)
class Chain:
    """A node with a committed asset transfer: its transaction, block and the receiver."""

    node: ThreadNode
    tx_id: str
    height: int
    receiver: str
    symbol: str


def _submit(node: ThreadNode, raw: bytes) -> dict[str, object]:
    response = httpx.post(
        f"{node.url}/v1/transactions", json={"tx": raw.hex()}, params={"wait": 20}, timeout=30
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["receipt"]["status"] == "OK", body
    return dict(body)


def _chain(node: ThreadNode, key_type: KeyType) -> Chain:
    issuer = PrivateKey.generate(key_type)
    receiver = PrivateKey.generate(key_type).public_key().address()
    me = issuer.public_key().address()
    _submit(
        node,
        signed_tx(issuer, 0, "assets", "create", Create("CNY", "yuan", 2, SupplyRule.UNLIMITED, 0)),
    )
    _submit(node, signed_tx(issuer, 1, "assets", "issue", Issue("CNY", me, 10_000)))
    sent = _submit(
        node, signed_tx(issuer, 2, "assets", "transfer", Transfer("CNY", receiver, 2_500))
    )
    height = int(str(sent["height"]))
    deadline_height = height + 1  # the block's certificate is stored once its child arrives
    for _ in range(200):
        if node.status()["height"] > deadline_height:
            break
        httpx.get(f"{node.url}/v1/status", timeout=2)
    return Chain(node, str(sent["tx_id"]), height, "0x" + receiver.hex(), "CNY")


@pytest.fixture(scope="module")
def sm_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with running_node(tmp_path_factory.mktemp("proofs-sm") / "net") as node:
        yield _chain(node, KeyType.SM2)


@pytest.fixture(scope="module")
def intl_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with running_node(tmp_path_factory.mktemp("proofs-intl") / "net", suite="intl") as node:
        yield _chain(node, KeyType.P256)


def _check(page: Page, url: str, verdict: str) -> list[tuple[str, str]]:
    """Open a proof route, wait for its verdict and return [(step, outcome)] in order."""
    page.goto(url)
    result = page.locator("#proof-result")
    expect(result).to_have_attribute("data-phase", "done", timeout=20_000)
    expect(result).to_have_attribute("data-verdict", verdict)
    steps = page.locator(".proof-step")
    return [
        (steps.nth(i).get_attribute("data-step") or "", steps.nth(i).get_attribute("data-ok") or "")
        for i in range(steps.count())
    ]


def test_block_certificate_verifies_in_the_browser_and_tampering_fails(
    tab: Tab, sm_chain: Chain
) -> None:
    page = tab.page
    base = f"{sm_chain.node.url}/console/#/proofs/block/{sm_chain.height}"
    steps = _check(page, base, "pass")
    assert steps == [(step, "ok") for step in BLOCK_STEPS]
    fingerprint = page.locator('[data-step="anchor"] [data-value="fingerprint"]').inner_text()
    genesis = httpx.get(f"{sm_chain.node.url}/v1/genesis/raw").json()["genesis"]
    assert fingerprint == sm3(bytes.fromhex(genesis.removeprefix("0x"))).hex()
    signer = page.locator('[data-step="qc"] tr[data-signer="0"]')
    expect(signer).to_have_attribute("data-ok", "ok")
    expect(signer.locator('[data-value="name"]')).to_have_text(sm_chain.node.status()["name"])
    assert audit(page, "en") == []
    screenshot(page, "proofs-block")

    page.locator("#proof-tamper").click()  # one bit of the header changed before checking
    expect(page.locator("#proof-result")).to_have_attribute("data-verdict", "fail", timeout=20_000)
    failed = page.locator('.proof-step[data-ok="fail"]')
    expect(failed).to_have_attribute("data-step", "proposer")
    expect(page.locator(".verdict-fail")).to_be_visible()
    assert audit(page, "en") == []
    screenshot(page, "proofs-block-tampered")
    assert tab.errors == []


def test_a_certificate_altered_in_transit_is_caught(tab: Tab, sm_chain: Chain) -> None:
    page = tab.page

    def corrupt(route: Route) -> None:
        body = route.fetch().json()
        certificate = bytearray.fromhex(body["certificate"].removeprefix("0x"))
        certificate[-1] ^= 0x01  # last byte of the last signature
        body["certificate"] = "0x" + certificate.hex()
        route.fulfill(json=body)

    page.route("**/v1/blocks/*/raw", corrupt)
    steps = _check(page, f"{sm_chain.node.url}/console/#/proofs/block/{sm_chain.height}", "fail")
    assert steps[-1] == ("qc", "fail")
    expect(page.locator('[data-step="qc"] tr[data-signer="0"]')).to_have_attribute(
        "data-ok", "fail"
    )
    assert tab.errors == []


def test_transaction_inclusion_verifies_with_its_audit_path(tab: Tab, sm_chain: Chain) -> None:
    page = tab.page
    page.goto(f"{sm_chain.node.url}/console/#/explorer/tx/{sm_chain.tx_id}")
    page.locator("#tx-proof-link").click()  # the explorer leads to the check
    url = f"{sm_chain.node.url}/console/#/proofs/tx/{sm_chain.tx_id}"
    expect(page).to_have_url(url)
    steps = _check(page, url, "pass")
    names = [step for step, _ in steps]
    assert names == [
        "anchor", "tx_located", "decode", "tx_id", "tx_signature", "tx_path", "block_id",
        "validators_genesis", "proposer", "qc_names", "qc",
    ]  # fmt: skip
    assert all(outcome == "ok" for _, outcome in steps)
    screenshot(page, "proofs-transaction")
    _check(page, f"{url}/tampered", "fail")
    expect(page.locator('.proof-step[data-ok="fail"]')).to_have_attribute("data-step", "tx_id")


def test_balance_state_proof_from_the_form_and_in_chinese(tab: Tab, sm_chain: Chain) -> None:
    page = tab.page
    page.goto(f"{sm_chain.node.url}/console/#/proofs")
    page.get_by_label("Account address").fill(sm_chain.receiver)
    page.get_by_label("Asset symbol").fill(sm_chain.symbol)
    page.locator("#proof-state-form").get_by_role("button").click()
    result = page.locator("#proof-result")
    expect(result).to_have_attribute("data-verdict", "pass", timeout=20_000)
    key = "0x" + balance_key(bytes.fromhex(sm_chain.receiver[2:]), sm_chain.symbol).hex()
    assert page.url.endswith(f"#/proofs/state/{key[2:]}")
    decoded = page.locator('[data-step="state_value"] [data-value="decoded"]')
    expect(decoded).to_have_text("[2500]")  # the Balance struct
    expect(page.locator('[data-step="state_root"]')).to_have_attribute("data-ok", "ok")
    screenshot(page, "proofs-state")

    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator(".verdict-pass")).to_have_text(
        CATALOGUES["zh"]["proofs.verdict.pass.state"]
    )
    assert audit(page, "zh") == []
    screenshot(page, "proofs-state-zh")

    page.locator("#proof-tamper").click()
    expect(result).to_have_attribute("data-verdict", "fail", timeout=20_000)
    expect(page.locator('.proof-step[data-ok="fail"]')).to_have_attribute(
        "data-step", "state_proof"
    )
    assert audit(page, "zh") == []
    assert tab.errors == []


def test_intl_chain_checks_sha256_and_p256(tab: Tab, intl_chain: Chain) -> None:
    page = tab.page
    steps = _check(page, f"{intl_chain.node.url}/console/#/proofs/tx/{intl_chain.tx_id}", "pass")
    assert all(outcome == "ok" for _, outcome in steps)
    expect(page.locator('[data-step="anchor"] [data-value="suite"]')).to_have_text("intl")
    steps = _check(
        page, f"{intl_chain.node.url}/console/#/proofs/block/{intl_chain.height}/tampered", "fail"
    )
    assert steps[-1] == ("proposer", "fail")
    assert tab.errors == []


def test_an_unknown_route_says_so(tab: Tab, sm_chain: Chain) -> None:
    page = tab.page
    page.goto(f"{sm_chain.node.url}/console/#/proofs/block/not-a-height")
    expect(page.locator("p.notice")).to_have_text(CATALOGUES["en"]["proofs.badroute"])
    assert audit(page, "en") == []
