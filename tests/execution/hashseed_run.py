"""Print the state roots of a fixed block sequence (run by test_determinism in subprocesses).

Two setup blocks create an asset of each supply rule and issue balances to
every key, so the random blocks after them move real balances. Those are
drawn from a seeded ``random.Random`` standing in for Hypothesis, so the
sequence is the same in every process while the hash seed differs.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

from consortia.modules.assets.types import Create, Issue, SupplyRule

from .chain import Chain, address, make_tx
from .workload import KEYS, SYMBOLS, draw_block

BLOCKS = 12
"""Random blocks after the two setup blocks."""


class _Strategies:
    """Just enough of ``hypothesis.strategies`` for :mod:`.workload`, from one RNG."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def sampled_from(self, items: Any) -> Any:
        return ("pick", tuple(items))

    def integers(self, lo: int, hi: int) -> Any:
        return ("int", lo, hi)

    def booleans(self) -> Any:
        return ("pick", (False, True))

    def draw(self, spec: Any) -> Any:
        if spec[0] == "pick":
            return self.rng.choice(spec[1])
        return self.rng.randint(spec[1], spec[2])


def run_fixed_sequence(path: Path) -> tuple[list[bytes], list[str]]:
    """Execute the seeded sequence on a fresh chain at ``path``: roots and receipt statuses."""
    st = _Strategies(random.Random(7))
    chain = Chain.open(path)
    statuses: list[str] = []
    rules = [(SupplyRule.UNLIMITED, 0), (SupplyRule.CAPPED, 2**64 - 1), (SupplyRule.FIXED, 10**6)]
    creates = [
        make_tx(k, 0, "assets", "create", Create(symbol, symbol, 2, rule, cap))
        for k, symbol, (rule, cap) in zip(KEYS, SYMBOLS, rules, strict=False)
    ]
    issues = [
        make_tx(k, 1 + n, "assets", "issue", Issue(symbol, address(holder), 1_000))
        for k, symbol in zip(KEYS[:2], SYMBOLS, strict=False)
        for n, holder in enumerate(KEYS)
    ]
    try:
        for setup in (creates, issues):
            statuses.extend(o.receipt.status for o in chain.execute(setup))
        for _ in range(BLOCKS):
            outcomes = chain.execute(draw_block(st.draw, st, chain))
            statuses.extend(o.receipt.status for o in outcomes)
    finally:
        chain.close()
    return chain.roots, statuses


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        roots, _ = run_fixed_sequence(Path(tmp) / "db")
    for root in roots:
        print(root.hex())


if __name__ == "__main__":
    main()
