"""Proposal validation checks every signature of a multisig transaction ([LEDGER-TX-MULTI.1]).

Another validator's proposal may carry a multisig transaction this node never
saw in gossip: the proposal check verifies each of its signatures, refuses the
block if one fails or if a co-signer's key type is not allowed, and pools the
block when all verify (real SM2 and P-256 signatures).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from consortia.codec import encode
from consortia.consensus.errors import InvalidProposal
from consortia.crypto import KeyType, PrivateKey, get_suite
from consortia.ledger.types import (
    TxBody,
    TxSignature,
    multisig_transaction,
    tx_signing_bytes,
)
from consortia.modules.assets.types import Create, SupplyRule
from consortia.node.init import init_network
from consortia.node.proposals import ProposalChecker
from consortia.server.assembly import Node


def _part(key: PrivateKey, body: TxBody) -> TxSignature:
    return TxSignature(
        key_type=key.key_type.value,
        public_key=key.public_key().to_bytes(),
        signature=key.sign(tx_signing_bytes(body)),
    )


def test_a_proposals_multisig_transactions_are_verified_signature_by_signature(
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
        owner, co = PrivateKey.generate(KeyType.SM2), PrivateKey.generate(KeyType.P256)
        body = TxBody(
            chain_id="consortia-devnet",
            sender=owner.public_key().address(),
            nonce=0,
            module="assets",
            method="create",
            args=encode(Create("MPV", "m", 0, SupplyRule.UNLIMITED, 0, True)),
            gas_limit=1_000_000,
            expiry_height=1_000,
        )
        other = TxBody(**{**{f: getattr(body, f) for f in body.__struct_fields__}, "nonce": 1})
        forged = multisig_transaction(body, [_part(owner, body), _part(co, other)])
        with pytest.raises(InvalidProposal, match="bad signature"):
            checker._check_transactions((forged,), body.chain_id, ("sm2", "p256"))
        good = multisig_transaction(body, [_part(owner, body), _part(co, body)])
        with pytest.raises(InvalidProposal, match="key type"):
            checker._check_transactions((good,), body.chain_id, ("sm2",))  # p256 co-signer
        assert len(service.mempool) == 0
        checker._check_transactions((good,), body.chain_id, ("sm2", "p256"))  # accepted
    finally:
        node.close()
