"""Receipt status: ``STATUS_OK`` names success; failures carry their error's code.

The status is hashed into ``receipts_root`` ([LEDGER-RECEIPT.2]), so naming the
success value must not change a byte of any receipt. Failure statuses are an
open set (every module defines its own codes), which is why the status stays a
``str`` and only success is a named constant.
"""

from __future__ import annotations

import msgspec

from consortia.codec import encode
from consortia.crypto import KeyType, sm3
from consortia.execution.errors import StaleNonce
from consortia.ledger.types import STATUS_OK, Event, Receipt, receipt_leaf
from consortia.modules.assets.types import Create, SupplyRule

from .chain import Chain, key, make_tx

ALICE = key(KeyType.SM2, 1)

# The encoding and receipts_root leaf of this receipt as the code before
# STATUS_OK produced them (status written as the literal "OK").
GOLDEN_RECEIPT = bytes.fromhex(
    "97c420000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0702a24f4b"
    "a0cd52089193a6617373657473ab7472616e736665727265649192a6616d6f756e74a135"
)
GOLDEN_LEAF = "79a1e442a9f1d5153459cefa8b0328a5c9da1508d6f9430e831f3ed2866b73bb"


def _receipt(status: str) -> Receipt:
    return Receipt(
        tx_id=bytes(range(32)),
        height=7,
        index=2,
        status=status,
        message="",
        gas_used=21000,
        events=(Event(module="assets", name="transferred", attributes=(("amount", "5"),)),),
    )


def test_a_success_receipt_encodes_byte_for_byte_as_before() -> None:
    receipt = _receipt(STATUS_OK)
    assert encode(receipt) == GOLDEN_RECEIPT
    assert receipt_leaf(sm3, receipt).hex() == GOLDEN_LEAF


def test_executed_receipts_carry_status_ok_or_the_error_code(chain: Chain) -> None:
    create = Create(
        symbol="CNY", name="CNY", decimals=2, supply_rule=SupplyRule.UNLIMITED, max_supply=0
    )
    ok = chain.run(make_tx(ALICE, 0, "assets", "create", create)).receipt
    assert ok.status == STATUS_OK
    assert encode(ok) == encode(msgspec.structs.replace(ok, status="OK"))
    stale = chain.run(make_tx(ALICE, 0, "assets", "create", create)).receipt
    assert stale.status == StaleNonce.code != STATUS_OK
