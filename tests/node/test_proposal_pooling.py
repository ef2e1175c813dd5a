"""Transactions a node first sees in a proposal are verified once, then pooled.

With gossip admitted on its own task, a proposal can arrive before the gossip
of its transactions has been admitted here; the proposal check verifies them
and pools them, so the gossip that follows is a duplicate, refused before any
signature check, and a later leader can still offer them if the block is dropped.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest
from tests.support.node import signed_tx

from consortia.codec import decode
from consortia.consensus.errors import InvalidProposal
from consortia.crypto import KeyType, PrivateKey, get_suite
from consortia.ledger.types import Transaction, tx_id
from consortia.modules.assets.types import Create, SupplyRule
from consortia.node.init import init_network
from consortia.node.proposals import ProposalChecker
from consortia.server.assembly import Node


def test_a_proposals_new_transactions_are_pooled_and_their_gossip_is_a_duplicate(
    tmp_path: Path,
) -> None:
    entry = init_network(tmp_path / "net", validators=1, orgs=1, suite="sm")[0]
    node = Node.open(entry.home)
    try:
        service = node.service
        hash_fn = get_suite("sm").hash
        checker = ProposalChecker(
            hash_fn=hash_fn, mempool=service.mempool, reader=service.reader, max_clock_skew_ms=0
        )
        key = PrivateKey.generate(KeyType.SM2)
        raws = [
            signed_tx(key, n, "assets", "create", Create(f"P{n}", "p", 0, SupplyRule.UNLIMITED, 0))
            for n in range(3)
        ]
        txs = tuple(decode(raw, Transaction) for raw in raws)
        forged = msgspec.structs.replace(txs[0], signature=key.sign(b"something else"))
        with pytest.raises(InvalidProposal, match="bad signature"):
            checker._check_transactions((forged,), txs[0].body.chain_id, ("sm2",))
        assert len(service.mempool) == 0

        checker._check_transactions(txs, txs[0].body.chain_id, ("sm2",))
        assert all(tx_id(hash_fn, tx.body) in service.mempool for tx in txs)
        results = asyncio.run(service.submit_many(raws, gossip=False))
        assert [getattr(r, "code", "OK") for r in results] == ["TX_DUPLICATE"] * 3

        # A pooled body with another signature is not the pooled (verified) transaction:
        # the id covers the body only, so the check must compare the whole transaction.
        resigned = msgspec.structs.replace(txs[1], signature=key.sign(b"another message"))
        assert tx_id(hash_fn, resigned.body) in service.mempool
        with pytest.raises(InvalidProposal, match="bad signature"):
            checker._check_transactions((txs[0], resigned), txs[0].body.chain_id, ("sm2",))
    finally:
        node.close()


def test_client_batches_past_the_verification_bound_are_refused_with_mempool_full(
    tmp_path: Path,
) -> None:
    """A node sheds client load when signature checks would queue past its bound;
    gossip from other validators is never shed there (it has its own bounded queue)."""
    entry = init_network(tmp_path / "net", validators=1, orgs=1, suite="sm")[0]
    node = Node.open(entry.home)
    try:
        service = node.service
        service.max_awaiting_verification = 10
        key = PrivateKey.generate(KeyType.SM2)
        raws = [
            signed_tx(key, n, "assets", "create", Create(f"B{n}", "b", 0, SupplyRule.UNLIMITED, 0))
            for n in range(16)
        ]

        async def two_clients() -> tuple[list[object], list[object]]:
            first, second = await asyncio.gather(
                service.submit_many(raws[:8]), service.submit_many(raws[8:])
            )
            return list(first), list(second)

        first, second = asyncio.run(two_clients())
        assert all(isinstance(r, bytes) for r in first)
        codes = {getattr(r, "code", "OK") for r in second}
        assert codes == {"MEMPOOL_FULL"}
        assert "waiting for their signature check" in str(getattr(second[0], "message", ""))
        gossiped = asyncio.run(service.submit_many(raws[8:], gossip=False))
        assert all(isinstance(r, bytes) for r in gossiped)
    finally:
        node.close()


def test_status_reports_what_the_router_dropped(tmp_path: Path) -> None:
    entry = init_network(tmp_path / "net", validators=1, orgs=1, suite="sm")[0]
    node = Node.open(entry.home)
    try:
        assert (node.service.status().dropped_gossip, node.service.status().dropped_messages) == (
            0,
            0,
        )
        node.service.dropped = lambda: (7, 2)
        status = node.service.status()
        assert (status.dropped_gossip, status.dropped_messages) == (7, 2)
    finally:
        node.close()
