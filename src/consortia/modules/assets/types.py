"""Asset state and the arguments of the assets module's methods.

Amounts are unsigned 64-bit integers of base units (``decimals`` places).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final

import msgspec

from consortia.codec import U64, Address, Canonical
from consortia.execution.text import validate_name

Symbol = Annotated[str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9._-]{0,31}\Z")]
"""Asset symbol: capital letter first, up to 32 characters."""
Amount = Annotated[int, msgspec.Meta(gt=0)]
"""A positive amount of base units (at most 2**64 - 1)."""
MAX_DECIMALS: Final = 18
DEF_PREFIX: Final = b"assets/def/"
BAL_PREFIX: Final = b"assets/bal/"


class SupplyRule(StrEnum):
    """How an asset's supply may change after creation."""

    FIXED = "fixed"
    """All of ``max_supply`` goes to the issuer at creation; no further issuance."""
    CAPPED = "capped"
    """The issuer may issue until ``max_supply``."""
    UNLIMITED = "unlimited"
    """The issuer may issue without cap (``max_supply`` must be 0)."""


def definition_key(symbol: str) -> bytes:
    """State key of an asset definition."""
    return DEF_PREFIX + symbol.encode()


def balance_key(address: bytes, symbol: str) -> bytes:
    """State key of a holder's balance (grouped by holder for listing)."""
    return BAL_PREFIX + address + b"/" + symbol.encode()


class Asset(Canonical, frozen=True):
    """An asset definition and its current supply."""

    symbol: Symbol
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    """Display name, checked on creation only: a stored asset always decodes,
    and readers show it through ``display_text``."""
    issuer: Address
    decimals: Annotated[int, msgspec.Meta(ge=0, le=MAX_DECIMALS)]
    supply_rule: SupplyRule
    max_supply: U64
    burnable: bool
    supply: U64


class Create(Canonical, frozen=True):
    """``assets.create``: define an asset with the sender as issuer."""

    symbol: Symbol
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    """Display name: keeps the text rule [EXEC-TEXT.1] (NFC, no controls or bidi)."""
    decimals: Annotated[int, msgspec.Meta(ge=0, le=MAX_DECIMALS)]
    supply_rule: SupplyRule
    max_supply: U64
    burnable: bool = True

    def __post_init__(self) -> None:
        """Refuse a name that could forge output (raises InvalidName, TX_BAD_NAME)."""
        validate_name(self.name, "name")


class Issue(Canonical, frozen=True):
    """``assets.issue``: the issuer creates new units for ``to``."""

    symbol: Symbol
    to: Address
    amount: Amount


class Transfer(Canonical, frozen=True):
    """``assets.transfer``: move units from the sender to ``to``."""

    symbol: Symbol
    to: Address
    amount: Amount


class Burn(Canonical, frozen=True):
    """``assets.burn``: destroy units the sender holds."""

    symbol: Symbol
    amount: Amount


class Balance(Canonical, frozen=True):
    """A stored balance."""

    amount: U64
