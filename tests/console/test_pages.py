"""The console's dashboard health column, contracts page and governance page (issue #6).

What a person would check: the validators table says how this node hears from
each validator (the one-validator test node is "this node"); a contract
deployed through the REST API is listed with its code hash, deployer and block,
and its code's view says no audit report is recorded; the governance page lists
the member organisation and its committee, and a proposal made and voted on
through the API shows its vote, tally and history; every word of every new view
comes from the catalogue in English and in Chinese. Each view is saved as a
screenshot under tests/artifacts/console/.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import vyper
from playwright.sync_api import Page, expect
from tests.console.conftest import (
    TABLET,
    Tab,
    ThreadNode,
    audit,
    no_sideways_scroll,
    open_page,
    running_node,
    screenshot,
)
from tests.support.node import signed_tx

from consortia.codec import encode
from consortia.crypto import PrivateKey
from consortia.evm.audit.report import Severity
from consortia.evm.audit.runner import audit_contract
from consortia.evm.compiler import compile_file
from consortia.evm.types import Deploy
from consortia.execution.policy import ChainPolicy
from consortia.modules.governance.types import (
    ApproveContract,
    CastVote,
    Choice,
    GrantRole,
    ProposalKind,
    Propose,
    Role,
    SetPolicy,
    WaiveFinding,
)

pytestmark = pytest.mark.slow

REENTRANCY = Path(__file__).parents[1] / "evm" / "contracts" / "checks" / "reentrancy.sol"
COUNTER = """
counter: public(uint256)

@external
def bump():
    self.counter += 1
"""


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadNode]:
    # The default policy (audited_and_approved) would refuse an unaudited contract.
    open_policy = ChainPolicy(contract_deployment="open")
    with running_node(tmp_path_factory.mktemp("pages") / "net", open_policy) as running:
        yield running


def api(node: ThreadNode, path: str) -> dict[str, Any]:
    body = httpx.get(f"{node.url}/v1/{path}", timeout=5).json()
    assert isinstance(body, dict)
    return body


def send(
    node: ThreadNode, key: PrivateKey, module: str, method: str, args: object
) -> dict[str, Any]:
    """Sign with ``key``'s next nonce, submit and wait for the receipt (which must be OK)."""
    address = "0x" + key.public_key().address().hex()
    nonce = api(node, f"accounts/{address}")["nonce"]
    raw = signed_tx(key, nonce, module, method, args)
    response = httpx.post(
        f"{node.url}/v1/transactions", json={"tx": raw.hex()}, params={"wait": 10}, timeout=15
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["receipt"]["status"] == "OK", body["receipt"]
    assert isinstance(body, dict)
    return body


@dataclass(frozen=True)
class Contract:
    address: str
    code_hash: str
    deployer: str
    height: int


@pytest.fixture(scope="module")
def deployed(node: ThreadNode) -> Contract:
    """A Vyper counter deployed by alice with a native ``evm.deploy``."""
    out = vyper.compile_code(COUNTER, output_formats=["bytecode"])
    code = bytes.fromhex(out["bytecode"].removeprefix("0x"))
    alice = node.key("alice")
    record = send(node, alice, "evm", "deploy", Deploy(code=code))
    created = next(e for e in record["receipt"]["events"] if e["name"] == "contract_created")
    listed = {c["tx_id"]: c for c in api(node, "contracts")["contracts"]}[record["tx_id"]]
    assert listed["code_hash"] == "0x" + created["attributes"]["code_hash"].removeprefix("0x")
    return Contract(listed["address"], listed["code_hash"], listed["deployer"], record["height"])


@dataclass(frozen=True)
class Voted:
    id: int
    governor: str


@pytest.fixture(scope="module")
def proposal(node: ThreadNode) -> Voted:
    """org1-admin (the default charter's governor) proposes a no-op policy change and votes yes."""
    admin = node.key("org1-admin")
    governor = "0x" + admin.public_key().address().hex()
    payload = encode(SetPolicy(parameter="contract_deployment", text="open"))
    deadline = node.status()["height"] + 1_000
    send(node, admin, "governance", "propose", Propose(ProposalKind.SET_POLICY, payload, deadline))
    mine = [p for p in api(node, "governance/proposals")["proposals"] if p["proposer"] == governor]
    proposal_id = max(p["id"] for p in mine)
    send(node, admin, "governance", "vote", CastVote(proposal_id, Choice.YES))
    return Voted(proposal_id, governor)


def to_chinese_at_tablet_width(page: Page) -> None:
    page.set_viewport_size(TABLET)
    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


def test_dashboard_health_column(tab: Tab, node: ThreadNode) -> None:
    page = tab.page
    open_page(page, node, "/")
    health = page.locator('#main td[data-health="0"]')
    expect(health).to_have_text("this node", timeout=10_000)  # the only validator is this node
    expect(page.get_by_role("columnheader", name="Link from this node")).to_be_visible()
    assert audit(page, "en") == []
    to_chinese_at_tablet_width(page)
    expect(health).to_have_text("本节点")
    assert audit(page, "zh") == []
    assert tab.errors == []


def test_contracts_list_and_code_view(tab: Tab, node: ThreadNode, deployed: Contract) -> None:
    page = tab.page
    open_page(page, node, "/contracts")
    expect(page.locator("h1")).to_have_text("Contracts")
    row = page.locator(f'#contracts-list tr[data-contract="{deployed.address}"]')
    expect(row).to_be_visible(timeout=10_000)
    expect(row.locator('[data-value="code_hash"]')).to_have_attribute("title", deployed.code_hash)
    expect(row.locator('[data-value="deployer"]')).to_have_attribute("title", deployed.deployer)
    height = row.locator('a[data-value="height"]')
    expect(height).to_have_text(str(deployed.height))
    expect(height).to_have_attribute("href", f"#/explorer/block/{deployed.height}")
    assert audit(page, "en") == []
    screenshot(page, "contracts-en")

    row.locator('[data-value="code_hash"]').click()
    expect(page).to_have_url(f"{node.url}/console/#/contracts/{deployed.code_hash}")
    expect(page.locator("h1")).to_be_focused()
    expect(page.locator('#code-fields [data-value="code_hash"]')).to_have_text(deployed.code_hash)
    expect(page.locator("#code-fields")).to_contain_text(deployed.address[:10])
    expect(page.locator("#audit-none")).to_have_text("No audit report recorded for this code.")
    expect(page.locator('[data-i18n="contracts.approval.none"]')).to_be_visible()
    expect(page.locator('[data-i18n="contracts.waivers.none"]')).to_be_visible()
    assert audit(page, "en") == []
    screenshot(page, "contracts-code-en")

    to_chinese_at_tablet_width(page)
    for route, ready in {
        f"/contracts/{deployed.code_hash}": "#audit-none",
        "/contracts": "#contracts-list",
    }.items():
        page.evaluate(f"window.location.hash = '#{route}'")
        expect(page.locator(ready)).to_be_visible(timeout=10_000)
        assert audit(page, "zh") == [], route
        no_sideways_scroll(page, route)
    screenshot(page, "contracts-zh")
    assert tab.errors == []


def test_governance_overview_and_proposal(tab: Tab, node: ThreadNode, proposal: Voted) -> None:
    page = tab.page
    open_page(page, node, "/governance")
    expect(page.locator("h1")).to_have_text("Governance")
    org = page.locator('#organisations tr[data-org="org1"]')
    expect(org).to_be_visible(timeout=10_000)
    expect(org.locator('[data-value="admin"]')).to_have_attribute("title", proposal.governor)
    governor = page.locator(f'#committee tr[data-governor="{proposal.governor}"]')
    expect(governor.locator('[data-value="weight"]')).to_have_text("1")
    row = page.locator(f'#proposals tr[data-proposal="{proposal.id}"]')
    expect(row.locator('[data-value="kind"]')).to_have_text("set_policy")
    assert audit(page, "en") == []
    screenshot(page, "governance-en")

    row.get_by_role("link").first.click()
    expect(page).to_have_url(f"{node.url}/console/#/governance/proposal/{proposal.id}")
    expect(page.locator("h1")).to_have_text(f"Proposal {proposal.id}")
    expect(page.locator("h1")).to_be_focused()
    record = api(node, f"governance/proposals/{proposal.id}")
    vote = page.locator(f'#votes tr[data-voter="{proposal.governor}"]')
    expect(vote).to_contain_text("yes")
    expect(vote.locator('[data-value="weight"]')).to_have_text("1")
    tally = record["tally"]
    expect(page.locator("#tally")).to_have_text(
        f"Yes {tally['yes']} · no {tally['no']} · abstain {tally['abstain']},"
        f" of a total weight of {tally['total']}."
    )
    expect(page.locator("#thresholds")).to_have_text(
        f"Thresholds: participation {tally['participation']}, approval {tally['approval']}."
    )
    actions = page.locator('#history [data-value="action"]')
    expect(actions).to_have_text([h["action"] for h in record["history"]])
    assert [h["action"] for h in record["history"]][:2] == ["proposed", "voted"]
    assert audit(page, "en") == []
    screenshot(page, "governance-proposal-en")

    to_chinese_at_tablet_width(page)
    expect(vote).to_contain_text("赞成")
    routes = {f"/governance/proposal/{proposal.id}": "#history", "/governance": "#proposals"}
    for route, ready in routes.items():
        page.evaluate(f"window.location.hash = '#{route}'")
        expect(page.locator(ready)).to_be_visible(timeout=10_000)
        assert audit(page, "zh") == [], route
        no_sideways_scroll(page, route)
    screenshot(page, "governance-zh")
    assert tab.errors == []


def _pass(node: ThreadNode, kind: ProposalKind, payload: object) -> int:
    """org1-admin, the only governor of the test node, proposes and votes: it executes."""
    admin = node.key("org1-admin")
    governor = "0x" + admin.public_key().address().hex()
    deadline = node.status()["height"] + 1_000
    send(node, admin, "governance", "propose", Propose(kind, encode(payload), deadline))
    mine = [p for p in api(node, "governance/proposals")["proposals"] if p["proposer"] == governor]
    proposal_id = max(p["id"] for p in mine)
    send(node, admin, "governance", "vote", CastVote(proposal_id, Choice.YES))
    assert api(node, f"governance/proposals/{proposal_id}")["status"] == "executed"
    return proposal_id


def test_an_audit_report_shows_tools_findings_approval_and_waivers(
    tab: Tab, node: ThreadNode
) -> None:
    """A real report: alice becomes auditor, audits the flagged reentrancy contract and records
    the report; governance waives its finding and approves the code."""
    (flagged,) = [c for c in compile_file(REENTRANCY) if c.name == "Flagged"]
    report = audit_contract(flagged, slither=False)
    high = [f for f in report.findings if f.severity is Severity.HIGH]
    assert high, "the fixture must carry a high finding"
    alice = node.key("alice")
    alice_address = alice.public_key().address()
    _pass(node, ProposalKind.GRANT_ROLE, GrantRole(address=alice_address, role=Role.AUDITOR))
    send(node, alice, "evm", "submit_audit", report)
    code_hash = "0x" + report.runtime_code_hash.hex()
    waiver = WaiveFinding(
        code_hash=report.runtime_code_hash, check=high[0].check, reason="pull payments only"
    )
    _pass(node, ProposalKind.WAIVE_FINDING, waiver)
    approval = ApproveContract(code_hash=report.runtime_code_hash, note="reviewed")
    approval_id = _pass(node, ProposalKind.APPROVE_CONTRACT, approval)
    page = tab.page
    open_page(page, node, f"/contracts/{code_hash}")
    expect(page.locator('#audit-fields [data-value="contract"]')).to_have_text("Flagged")
    rows = page.locator("#findings tbody tr")
    expect(rows).to_have_count(len(report.findings))
    expect(rows.nth(0).locator(".badge-high")).to_have_text("high")
    expect(page.locator('#approval-fields a[data-value="proposal_id"]')).to_have_attribute(
        "href", f"#/governance/proposal/{approval_id}"
    )
    expect(page.locator('#waivers [data-value="check"]')).to_have_text(high[0].check)
    assert audit(page, "en") == []
    screenshot(page, "contracts-audit-en")
    to_chinese_at_tablet_width(page)
    expect(rows.nth(0).locator(".badge-high")).to_have_text("高")
    assert audit(page, "zh") == []
    no_sideways_scroll(page, "the audit report")
    assert tab.errors == []
