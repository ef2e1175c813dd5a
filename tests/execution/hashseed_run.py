"""Print the state roots of a fixed block sequence (run by test_determinism in subprocesses).

The sequence is drawn from a seeded ``random.Random`` standing in for
Hypothesis, so it is the same in every process while the hash seed differs.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

from .chain import Chain
from .workload import draw_block


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


def main() -> None:
    st = _Strategies(random.Random(7))
    with tempfile.TemporaryDirectory() as tmp:
        chain = Chain.open(Path(tmp) / "db")
        for _ in range(8):
            chain.execute(draw_block(st.draw, st, chain))
        chain.close()
    for root in chain.roots:
        print(root.hex())


if __name__ == "__main__":
    main()
