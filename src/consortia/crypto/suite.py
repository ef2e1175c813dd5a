"""Crypto suites: the hash, consensus key type and AEAD a chain is configured with.

``sm``: SM3, SM2 validator signatures, SM4-GCM (GB/T 32905, 32918, 32907).
``intl``: SHA-256, ECDSA P-256 validator signatures, AES-GCM.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from consortia.crypto.aead import AES_GCM, SM4_GCM, Aead
from consortia.crypto.errors import UnsupportedAlgorithm
from consortia.crypto.hashing import sha256, sm3
from consortia.crypto.key_type import KeyType

__all__ = ["SUITES", "Suite", "get_suite"]


@dataclass(frozen=True)
class Suite:
    """A chain's crypto suite."""

    name: str
    """Suite name: ``"sm"`` or ``"intl"``."""
    hash_name: str
    """Name of ``hash``: ``"sm3"`` or ``"sha256"``."""
    hash: Callable[[bytes], bytes]
    """The chain hash, 32-byte digest."""
    consensus_key_type: KeyType
    """Key type of validator (consensus) signatures."""
    aead: Aead
    """Authenticated cipher for payload encryption."""


SUITES: Mapping[str, Suite] = MappingProxyType(
    {
        "sm": Suite("sm", "sm3", sm3, KeyType.SM2, SM4_GCM),
        "intl": Suite("intl", "sha256", sha256, KeyType.P256, AES_GCM),
    }
)
"""All suites by name."""


def get_suite(name: str) -> Suite:
    """Return the suite called ``name``.

    Raises:
        UnsupportedAlgorithm: unknown name (the message lists the known ones).
    """
    try:
        return SUITES[name]
    except KeyError:
        known = ", ".join(sorted(SUITES))
        raise UnsupportedAlgorithm(f"unknown crypto suite {name!r}; known: {known}") from None
