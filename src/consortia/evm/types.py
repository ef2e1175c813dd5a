"""Arguments of the ``evm`` module's methods."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

from consortia.codec import U64, Address, Canonical, Hash32

MAX_INITCODE_BYTES: Final = 49_152
"""EIP-3860: the largest creation code."""


class Deploy(Canonical, frozen=True):
    """``evm.deploy``: run creation code; the contract's address is in the receipt."""

    code: Annotated[bytes, msgspec.Meta(min_length=1, max_length=MAX_INITCODE_BYTES)]
    """Creation bytecode with its ABI-encoded constructor arguments appended."""


class Call(Canonical, frozen=True):
    """``evm.call``: send ``data`` to the contract at ``to``."""

    to: Address
    data: bytes = b""


class ContractRecord(Canonical, frozen=True):
    """A deployed contract (key ``evm/contracts/<address>``), for explorers and the console."""

    address: Address
    code_hash: Hash32
    """Keccak-256 of its runtime code (what its audit report is bound to)."""
    deployer: Address
    height: U64
    tx_id: Hash32


CONTRACT_PREFIX: Final = b"evm/contracts/"


def contract_record_key(address: bytes) -> bytes:
    """State key of the record of the contract at ``address``."""
    return CONTRACT_PREFIX + address
