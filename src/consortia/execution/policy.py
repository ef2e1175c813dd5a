"""Chain policy: limits and rules fixed at genesis (amended by governance later)."""

from __future__ import annotations

from typing import Final

from consortia.codec import U64, Canonical

POLICY_KEY: Final = b"chain/policy"
"""State key of the policy in force."""


class ChainPolicy(Canonical, frozen=True):
    """Limits every validator enforces identically ([EXEC-POLICY.1])."""

    allowed_key_types: tuple[str, ...] = ("sm2", "p256", "secp256k1")
    """Account key types that may sign transactions."""
    max_tx_bytes: U64 = 65_536
    """Largest encoded transaction."""
    max_tx_gas: U64 = 10_000_000
    """Highest gas limit one transaction may ask for."""
    max_block_txs: U64 = 5_000
    max_block_bytes: U64 = 8 * 1024 * 1024
    block_gas_limit: U64 = 2_000_000_000
    max_expiry_blocks: U64 = 100_000
    """A transaction may not expire further than this beyond the current height."""
