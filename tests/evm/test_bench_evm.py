"""The EVM micro-benchmark measures what it claims: every transfer executes and commits."""

from __future__ import annotations

from consortia.bench.evm_micro import measure


def test_every_transfer_of_the_benchmark_commits() -> None:
    # measure() raises if any transaction fails, so a broken run cannot report a rate.
    result = measure(transfers=40, block_size=20, recipients=7, profile=True)
    assert result["transfers"] == 40 and result["transfers_per_s"] > 0
    assert set(result["profile"]) >= {"trie root and persist", "EVM opcode execution"}
