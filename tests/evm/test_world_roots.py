"""How the EVM world is kept never changes a root ([EVM-CTX.1], determinism).

The node keeps decoded trie nodes across blocks, batches storage writes per
block and skips py-evm's zero-value fee bookkeeping (``consortia.evm.world``,
``consortia.evm.context``). The same blocks must give the same roots as
py-evm's own Cancun state opened afresh for every block, with nothing kept
in between — also after a block was executed and its LMDB transaction
aborted, and on a second node replaying on a fresh LMDB.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import rlp
from eth.constants import BLANK_ROOT_HASH
from eth.rlp.accounts import Account as EthAccount
from eth.vm.forks.cancun import CancunVM
from tests.evm import world_scenario
from tests.execution.chain import Chain

import consortia.evm.module
from consortia.evm.context import execution_context
from consortia.evm.world import WORLD_ROOT_KEY, NodeCache, SideDB, node_cache
from consortia.execution.module import BlockContext
from consortia.execution.policy import ChainPolicy
from consortia.ledger.types import Transaction

SELFDESTRUCT_WARNING = "ignore:SELFDESTRUCT opcode present:DeprecationWarning"
"""py-evm warns whenever a contract runs SELFDESTRUCT (the scenario has two)."""


def _abort_block(chain: Chain, txs: list[Transaction]) -> None:
    """Execute ``txs`` as the next block, then abort its LMDB transaction."""
    height = chain.height
    outcomes = chain.execute(txs, abort=True)
    assert all(o.receipt.status == "OK" for o in outcomes)
    assert chain.height == height


def _reference_world(
    db: Any, root: bytes, block: BlockContext, policy: ChainPolicy, *_: Any
) -> Any:
    """py-evm's own Cancun state, nothing cached or batched (how the chain began)."""
    return CancunVM.get_state_class()(db, execution_context(block, policy), root)


def _scenario(path: Path, **kw: Any) -> list[tuple[bytes, bytes, tuple[str, ...]]]:
    chain = Chain.open(path, world_scenario.genesis())
    try:
        return world_scenario.run(chain, **kw)
    finally:
        chain.close()


@pytest.mark.filterwarnings(SELFDESTRUCT_WARNING)
def test_roots_match_py_evm_opened_afresh_each_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = _scenario(tmp_path / "node", abort_block=_abort_block)
    replay = _scenario(tmp_path / "replay")
    with monkeypatch.context() as patch:
        patch.setattr(consortia.evm.module, "open_world", _reference_world)
        reference = _scenario(tmp_path / "reference")
    assert node == reference
    assert replay == reference
    statuses = {s for _, _, block in reference for s in block}
    assert {"OK", "EVM_REVERTED", "EVM_FAILED", "TX_UNKNOWN_METHOD"} <= statuses
    worlds = [world for _, world, _ in reference]
    assert len(set(worlds)) == 6  # block 5 is empty: the world root stays


def _walk(db: SideDB, node_hash: bytes, leaf: Any = None) -> int:
    """Decode every node under ``node_hash`` from ``db`` (KeyError if one is missing)."""
    count = 0
    stack: list[Any] = [node_hash]
    while stack:
        ref = stack.pop()
        if ref in (b"", BLANK_ROOT_HASH):
            continue
        node = rlp.decode(db[ref]) if isinstance(ref, bytes) else ref
        count += 1
        if len(node) == 17:
            stack.extend(node[:16])
        elif node[0][0] >> 4 in (0, 1):  # an extension: its child
            stack.append(node[1])
        elif leaf is not None:
            leaf(node[1])
    return count


@pytest.mark.filterwarnings(SELFDESTRUCT_WARNING)
def test_every_reachable_node_is_in_lmdb_after_an_aborted_block(tmp_path: Path) -> None:
    chain = Chain.open(tmp_path, world_scenario.genesis())
    try:
        world_scenario.run(chain, abort_block=_abort_block)
        storage_roots: list[bytes] = []
        with chain.env.begin() as txn:
            db = SideDB(txn, chain.tree.side_db)
            for version in range(1, chain.height + 1):
                root = chain.tree.get(txn, WORLD_ROOT_KEY, version)
                assert root is not None
                _walk(
                    db,
                    root,
                    lambda raw: storage_roots.append(
                        rlp.decode(raw, sedes=EthAccount).storage_root
                    ),
                )
            assert sum(_walk(db, r) for r in storage_roots) > 0
    finally:
        chain.close()


def test_node_cache_is_per_state_tree_and_bounded(tmp_path: Path) -> None:
    a = Chain.open(tmp_path / "a")
    b = Chain.open(tmp_path / "b")
    try:
        assert node_cache(a.tree) is node_cache(a.tree)
        assert node_cache(a.tree) is not node_cache(b.tree)
    finally:
        a.close()
        b.close()
    cache = NodeCache(limit=2)
    cache.put(b"1" * 32, [b"x", b"y"])
    cache.put(b"2" * 32, [b"x", b"z"])
    assert len(cache) == 2
    cache.put(b"3" * 32, [b"x", b"w"])
    assert len(cache) == 1 and cache.get(b"1" * 32) is None
    assert cache.get(b"3" * 32) == [b"x", b"w"]
