"""Pure parts of a node's epoch handling and peer admission (node/epochs.py, membership.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import msgspec
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from tests.consensus.support import CHAIN_ID, HASH, make_chain, make_qc, signed_block

from consortia.consensus.blocktree import CommittedBlock
from consortia.consensus.validators import Committee
from consortia.ledger.types import CommitProof, ValidatorSet, block_id
from consortia.network.certs import create_ca, issue_node_cert
from consortia.network.errors import HandshakeFailed
from consortia.node.config import NodeConfig, PeerConfig
from consortia.node.epochs import cut_at_epoch_end
from consortia.node.membership import Membership, dial_targets, parse_endpoint

CHAIN = make_chain(4)


def _committed(n: int, ending_at: int | None) -> list[CommittedBlock]:
    """n committed blocks on genesis; block ``ending_at`` (1-based) carries next_validators."""
    parent, parent_id, justify = CHAIN.genesis, CHAIN.genesis_id, CHAIN.genesis_qc
    out = []
    next_set = ValidatorSet(
        epoch=CHAIN.epoch + 1, validators=CHAIN.committee.validator_set.validators
    )
    for round_ in range(1, n + 1):
        block, bid = signed_block(CHAIN, parent, parent_id, round_, justify)
        if round_ == ending_at:
            header = msgspec.structs.replace(block.header, next_validators=next_set)
            block, bid = msgspec.structs.replace(block, header=header), block_id(HASH, header)
        qc = make_qc(CHAIN, block, bid, [0, 1, 2])
        out.append(CommittedBlock(block=block, block_id=bid, certificate=qc))
        parent, parent_id, justify = block, bid, qc
    child, child_id = signed_block(CHAIN, parent, parent_id, n + 1, justify)
    proof = CommitProof(headers=(child.header,), qc=make_qc(CHAIN, child, child_id, [0, 1, 2]))
    out[-1] = dataclasses.replace(out[-1], commit_proof=proof)
    return out


def test_a_commit_without_an_epoch_end_passes_whole() -> None:
    blocks = _committed(3, None)
    kept, ended = cut_at_epoch_end(blocks, CHAIN.epoch)
    assert kept == blocks and not ended


def test_a_commit_is_cut_after_the_epoch_ending_block_with_its_proof() -> None:
    blocks = _committed(4, ending_at=2)
    kept, ended = cut_at_epoch_end(blocks, CHAIN.epoch)
    assert ended and [c.block_id for c in kept] == [blocks[0].block_id, blocks[1].block_id]
    proof = kept[-1].commit_proof
    assert proof is not None
    # The dropped blocks' headers, then the commit's own proof.
    assert proof.headers == (
        blocks[2].block.header,
        blocks[3].block.header,
        *blocks[3].commit_proof.headers,  # type: ignore[union-attr]
    )
    CHAIN.fresh_committee().verify_commit_proof(blocks[1].block_id, proof, HASH)


def test_an_ending_block_of_another_epoch_does_not_cut() -> None:
    blocks = _committed(3, ending_at=1)
    kept, ended = cut_at_epoch_end(blocks, CHAIN.epoch + 1)
    assert kept == blocks and not ended


def test_dialing_rule_validators_dial_upwards_observers_dial_all() -> None:
    config = NodeConfig(
        name="v1",
        chain_id="c",
        peers=(PeerConfig(name="v3", host="10.0.0.3", port=9), PeerConfig("boot", "10.9.9.9", 7)),
    )
    validators = tuple(
        msgspec.structs.replace(v, endpoint=f"127.0.0.1:{2000 + i}")
        for i, v in enumerate(CHAIN.committee.validator_set.validators)
    )
    committee = Committee(
        CHAIN_ID, ValidatorSet(epoch=CHAIN.epoch, validators=validators), CHAIN.genesis_id
    )
    as_validator = dial_targets(config, committee, 1)
    assert [(t.name, t.host, t.port) for t in as_validator] == [
        ("v2", "127.0.0.1", 2002),
        ("v3", "10.0.0.3", 9),  # the node's own peer list overrides the on-chain endpoint
    ]
    assert all(t.key == validators[int(t.name[1])].public_key for t in as_validator)
    as_observer = dial_targets(config, committee, None)
    assert [t.name for t in as_observer] == ["v0", "v1", "v2", "v3", "boot"]


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("127.0.0.1:26656", ("127.0.0.1", 26656)),
        ("node.bank-a.example:1", ("node.bank-a.example", 1)),
        ("", None),
        ("host", None),
        ("host:0", None),
        ("host:70000", None),
        (":80", None),
        ("host:8o", None),
    ],
)
def test_parse_endpoint(text: str, parsed: tuple[str, int] | None) -> None:
    assert parse_endpoint(text) == parsed


def test_only_certificates_of_member_cas_are_admitted(tmp_path: Path) -> None:
    member, stranger = create_ca("bank-a"), create_ca("bank-x")
    bundle = tmp_path / "ca-bundle.pem"
    bundle.write_bytes(member.cert_pem)

    def der(pem: bytes) -> bytes:
        return x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)

    # A charter without CA certificates: the home's bundle decides.
    members = Membership(list, bundle)
    members.admit(der(issue_node_cert(member, "bank-a", "a-v0", "127.0.0.1").cert_pem))
    with pytest.raises(HandshakeFailed, match="not issued by a member CA"):
        members.admit(der(issue_node_cert(stranger, "bank-x", "x-v0", "127.0.0.1").cert_pem))
    with pytest.raises(HandshakeFailed, match="does not parse"):
        members.admit(b"\x30\x03garbage")
    # CAs in state take over from the bundle: now only the stranger's CA is a member.
    members = Membership(lambda: [stranger.cert_pem], bundle)
    members.admit(der(issue_node_cert(stranger, "bank-x", "x-v1", "127.0.0.1").cert_pem))
    with pytest.raises(HandshakeFailed):
        members.admit(der(issue_node_cert(member, "bank-a", "a-v1", "127.0.0.1").cert_pem))
