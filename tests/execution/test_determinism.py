"""Execution is a function of the blocks: same blocks, same roots, any process.

Two fresh LMDB environments execute one drawn block sequence and must agree
on the state root and every receipt at every version; and a fixed sequence
gives the same roots under different ``PYTHONHASHSEED`` values (so no set or
dict order leaks into state).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .chain import Chain
from .hashseed_run import BLOCKS, run_fixed_sequence
from .workload import draw_block

ROOT = Path(__file__).resolve().parents[2]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_two_environments_agree_at_every_version(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        left = Chain.open(Path(tmp) / "left")
        right = Chain.open(Path(tmp) / "right")
        try:
            statuses: set[str] = set()
            for _ in range(data.draw(st.integers(1, 6))):
                block = draw_block(data.draw, st, left)
                ours = left.execute(block)
                theirs = right.execute(block)
                assert [o.receipt for o in ours] == [o.receipt for o in theirs]
                assert [o.touched for o in ours] == [o.touched for o in theirs]
                statuses.update(o.receipt.status for o in ours)
            assert left.roots == right.roots
            assert left.dump() == right.dump()
        finally:
            left.close()
            right.close()


def test_roots_do_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    outputs = []
    for seed in ("1", "2024"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-m", "tests.execution.hashseed_run"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert len(outputs[0].split()) == 1 + 2 + BLOCKS  # genesis, setup, random blocks
    # And this process (pytest's own hash seed) agrees with both.
    roots, _ = run_fixed_sequence(tmp_path / "db")
    assert outputs[0].split() == [r.hex() for r in roots]


def test_the_fixed_sequence_fails_at_every_stage(tmp_path: Path) -> None:
    """The sequence the hash-seed test compares holds failures of each kind, not only OKs."""
    _, statuses = run_fixed_sequence(tmp_path / "db")
    seen = set(statuses)
    assert statuses[:11] == ["OK"] * 11  # the setup blocks
    assert statuses[11:].count("OK") >= 5
    assert seen & {"TX_STALE_NONCE", "TX_FUTURE_NONCE", "TX_UNAUTHORIZED"}  # no trace
    assert any(s.startswith(("ASSET_", "ACCOUNTS_")) for s in seen)  # rolled back, nonce used
