"""Arguments of the ``evm`` module's methods."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

from consortia.codec import Address, Canonical

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
