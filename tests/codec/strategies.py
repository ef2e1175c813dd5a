"""Hypothesis strategies for every ledger type, within each field's declared constraints."""

from __future__ import annotations

from hypothesis import strategies as st

from consortia.codec import U64_MAX
from consortia.ledger.merkle import MerkleProof
from consortia.ledger.types import (
    Block,
    BlockHeader,
    Event,
    QuorumCert,
    Receipt,
    Transaction,
    TxBody,
    VoteData,
)

u64 = st.one_of(
    st.integers(0, 300),
    st.sampled_from([127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, U64_MAX]),
    st.integers(0, U64_MAX),
)
hash32 = st.binary(min_size=32, max_size=32)
address = st.binary(min_size=20, max_size=20)
names = st.from_regex(r"\A[A-Za-z0-9_.:-]{1,64}\Z")
chain_ids = st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,63}\Z")
public_keys = st.one_of(st.binary(min_size=33, max_size=33), st.binary(min_size=65, max_size=65))
signatures = st.binary(min_size=8, max_size=72)

tx_bodies = st.builds(
    TxBody,
    chain_id=chain_ids,
    sender=address,
    nonce=u64,
    module=names,
    method=names,
    args=st.binary(max_size=300),
    gas_limit=u64,
    expiry_height=u64,
)
transactions = st.builds(
    Transaction,
    body=tx_bodies,
    key_type=st.sampled_from(["sm2", "p256", "secp256k1"]),
    public_key=public_keys,
    signature=signatures,
)


@st.composite
def quorum_certs(draw: st.DrawFn) -> QuorumCert:
    signers = draw(st.lists(st.integers(0, 2**16), max_size=5, unique=True).map(sorted))
    return QuorumCert(
        epoch=draw(u64),
        round=draw(u64),
        height=draw(u64),
        block_id=draw(hash32),
        signers=tuple(signers),
        signatures=tuple(draw(signatures) for _ in signers),
    )


vote_data = st.builds(
    VoteData, chain_id=chain_ids, epoch=u64, round=u64, height=u64, block_id=hash32
)
block_headers = st.builds(
    BlockHeader,
    chain_id=chain_ids,
    epoch=u64,
    round=u64,
    height=u64,
    parent_id=hash32,
    proposer=u64,
    timestamp_ms=u64,
    tx_root=hash32,
    tx_count=u64,
    state_height=u64,
    state_root=hash32,
    receipts_root=hash32,
    justify=quorum_certs(),
)
blocks = st.builds(
    Block,
    header=block_headers,
    transactions=st.lists(transactions, max_size=3).map(tuple),
    signature=st.binary(max_size=72),
)
events = st.builds(
    Event,
    module=names,
    name=names,
    attributes=st.lists(st.tuples(st.text(max_size=20), st.text(max_size=20)), max_size=4).map(
        tuple
    ),
)
receipts = st.builds(
    Receipt,
    tx_id=hash32,
    height=u64,
    index=u64,
    status=st.text(max_size=30),
    message=st.text(max_size=60),
    gas_used=u64,
    events=st.lists(events, max_size=3).map(tuple),
)
merkle_proofs = st.builds(
    MerkleProof, index=u64, size=u64, siblings=st.lists(hash32, max_size=6).map(tuple)
)

LEDGER_TYPES: dict[type, st.SearchStrategy[object]] = {
    TxBody: tx_bodies,
    Transaction: transactions,
    QuorumCert: quorum_certs(),
    VoteData: vote_data,
    BlockHeader: block_headers,
    Block: blocks,
    Receipt: receipts,
    Event: events,
    MerkleProof: merkle_proofs,
}
