"""The independent verifier accepts an honest chain and names the first bad height
of every kind of forgery ([VERIFY-CHAIN.1])."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from tests.verify.chain import ChainBuilder, Record

from consortia.bench.workload import signed
from consortia.codec import decode
from consortia.crypto import KeyType, PrivateKey
from consortia.ledger.types import Transaction
from consortia.modules.assets.types import Create, SupplyRule
from consortia.verify.export import ExportedBlock, ExportHeader, read_export
from consortia.verify.verifier import verify_chain


def _tx(key: PrivateKey, nonce: int, symbol: str) -> Transaction:
    args = Create(
        symbol=symbol, name=symbol, decimals=0, supply_rule=SupplyRule.UNLIMITED, max_supply=0
    )
    return decode(signed(key, "consortia-devnet", nonce, "create", args, 1_000), Transaction)


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainBuilder]:
    builder = ChainBuilder(tmp_path)
    alice = builder.user_keys[0]
    for nonce in range(4):
        builder.add((_tx(alice, nonce, f"T{nonce}"),))
    builder.add()
    yield builder
    builder.close()


def _replace(records: list[Record], height: int, record: Record) -> list[Record]:
    return [*records[:height], record, *records[height + 1 :]]


def test_honest_chain_verifies(chain: ChainBuilder) -> None:
    report = verify_chain(chain.genesis, chain.records)
    assert report.ok, report.problem
    assert (report.blocks, report.transactions) == (6, 4)


def test_flipped_byte_in_a_block(chain: ChainBuilder) -> None:
    block, qc = chain.records[2]
    tampered = msgspec.structs.replace(
        block,
        header=msgspec.structs.replace(block.header, timestamp_ms=block.header.timestamp_ms ^ 1),
    )
    report = verify_chain(chain.genesis, _replace(chain.records, 2, (tampered, qc)))
    assert report.first_bad_height == 2
    assert "proposer signature" in report.problem


def test_qc_with_a_missing_signature(chain: ChainBuilder) -> None:
    block, qc = chain.records[3]
    assert qc is not None
    weak = msgspec.structs.replace(qc, signers=qc.signers[:2], signatures=qc.signatures[:2])
    report = verify_chain(chain.genesis, _replace(chain.records, 3, (block, weak)))
    assert report.first_bad_height == 3 and "weight" in report.problem


def test_qc_with_a_forged_signature(chain: ChainBuilder) -> None:
    block, qc = chain.records[3]
    assert qc is not None
    forged = msgspec.structs.replace(qc, signatures=(qc.signatures[1], *qc.signatures[1:]))
    report = verify_chain(chain.genesis, _replace(chain.records, 3, (block, forged)))
    assert report.first_bad_height == 3 and "bad signatures" in report.problem


def test_qc_signed_by_a_non_validator(chain: ChainBuilder) -> None:
    block, _ = chain.records[4]
    outsider = PrivateKey.generate(KeyType.SM2)
    bid = chain.records[5][0].header.parent_id
    qc = chain.certify(block.header, bid, signers=[*chain.keys[:2], outsider])
    report = verify_chain(chain.genesis, _replace(chain.records, 4, (block, qc)))
    assert report.first_bad_height == 4 and "bad signatures from [2]" in report.problem


def test_certified_block_with_a_badly_signed_transaction(tmp_path: Path) -> None:
    builder = ChainBuilder(tmp_path)
    alice, bob = builder.user_keys
    good = _tx(alice, 0, "OK")
    forged = msgspec.structs.replace(_tx(alice, 1, "BAD"), signature=_tx(bob, 1, "BAD").signature)
    builder.add((good,))
    builder.add((forged,))  # a Byzantine quorum certified it
    builder.add()
    report = verify_chain(builder.genesis, builder.records)
    builder.close()
    assert report.first_bad_height == 2 and "bad signature" in report.problem


def test_certified_block_with_a_wrong_state_root(tmp_path: Path) -> None:
    builder = ChainBuilder(tmp_path)
    builder.add((_tx(builder.user_keys[0], 0, "X"),))
    builder.add(state_root=bytes(32))  # certified, but not what execution gives
    report = verify_chain(builder.genesis, builder.records)
    builder.close()
    assert report.first_bad_height == 2 and "state root" in report.problem


def test_export_file_round_trip(chain: ChainBuilder, tmp_path: Path) -> None:
    from consortia.verify.export import write_export

    path = tmp_path / "chain.export"
    ledger = Path(chain.env.path())
    chain.close()
    count = write_export(ledger, chain.genesis, path)
    header, blocks = read_export(path)
    assert isinstance(header, ExportHeader) and header.blocks == count == 6
    records = [(b.block, b.certificate) for b in blocks if isinstance(b, ExportedBlock)]
    assert verify_chain(header.genesis, records).ok


def test_a_certified_repeat_of_a_committed_transaction_does_not_stop_execution(
    tmp_path: Path,
) -> None:
    """[EXEC-REPEAT.1]: a repeat has no effect, gets TX_ALREADY_COMMITTED, and the chain goes on."""
    from consortia.ledger.types import tx_id

    builder = ChainBuilder(tmp_path)
    tx = _tx(builder.user_keys[0], 0, "ONCE")
    builder.add((tx,))
    builder.add((tx, tx))  # a Byzantine quorum certified two repeats
    builder.add((_tx(builder.user_keys[0], 1, "NEXT"),))
    identifier = tx_id(builder.hash, tx.body)
    with builder.env.begin() as txn:
        first = builder.store.receipt(txn, identifier)
        repeats = builder.store.receipts(txn, 2)
        nonce_block = builder.store.receipts(txn, 3)
    assert first is not None and first.status == "OK" and first.height == 1
    assert repeats is not None and [r.status for r in repeats] == ["TX_ALREADY_COMMITTED"] * 2
    assert nonce_block is not None and nonce_block[0].status == "OK"
    report = verify_chain(builder.genesis, builder.records)
    builder.close()
    assert report.ok, report.problem
