"""Chain policy: limits and rules fixed at genesis (amended by governance later)."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

from consortia.codec import U64, Canonical

POLICY_KEY: Final = b"chain/policy"
"""State key of the policy in force."""
DEPLOYMENT_POLICIES: Final = ("open", "audited", "audited_and_approved")
MIN_END_BLOCK_GAS: Final = 100_000
"""Smallest end-of-block budget: the EVM's closing write must always fit in it."""
MIN_RETENTION_BLOCKS: Final = 1_000
"""Fewest state versions a pruning node keeps: sync, proofs and recovery read recent ones."""


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
    contract_deployment: Annotated[
        str, msgspec.Meta(pattern=r"^(open|audited|audited_and_approved)\Z")
    ] = "audited_and_approved"
    """Which contracts may deploy: any (``open``); bytecode whose on-chain audit report
    has no high-severity finding (``audited``); and also approved by a governance
    proposal (``audited_and_approved``). Applied by the contract module."""
    retention_blocks: U64 = 0
    """0 keeps every state version; otherwise nodes prune state versions older than
    this many blocks (at least MIN_RETENTION_BLOCKS). Blocks, receipts and
    certificates are always kept, so the chain stays verifiable and auditable."""
    end_block_gas: U64 = 10_000_000
    """Gas each module's end-of-block hook may use per block (at least
    MIN_END_BLOCK_GAS); a hook past it is stopped and rolled back ([EXEC-BLOCK-END.1])."""


def policy_problem(policy: ChainPolicy) -> str | None:
    """What makes ``policy`` unusable beyond its field types, or None."""
    if not policy.allowed_key_types:
        return "allowed_key_types needs at least one key type"
    unknown = set(policy.allowed_key_types) - {"sm2", "p256", "secp256k1"}
    if unknown:
        return f"allowed_key_types: unknown key types {sorted(unknown)}"
    if 0 < policy.retention_blocks < MIN_RETENTION_BLOCKS:
        return f"retention_blocks must be 0 or at least {MIN_RETENTION_BLOCKS}"
    if policy.end_block_gas < MIN_END_BLOCK_GAS:
        return f"end_block_gas must be at least {MIN_END_BLOCK_GAS}"
    if policy.max_tx_bytes > policy.max_block_bytes or policy.max_tx_gas > policy.block_gas_limit:
        return "a transaction limit exceeds the block limit"
    return None
