"""EVM execution per core: ERC-20 transfers through the chain's executor, one block at a time.

Each block runs through ``execute_block`` (the EVM module keeps one py-evm
world per block and computes its trie root once, at the block's end) and is
committed to LMDB with the chain-state tree, exactly as a node's execution
thread does — without consensus, networking or signature checks, so this is
the execution ceiling of one core. The token is the load benchmark's (``consortia.bench.erc20``).
Transfers go from one holder to a rotating
set of recipients (new balance slots at first, then updates); with
``--senders N`` they go instead, as in the load benchmark's ``erc20``
workload, from N funded senders in turn to one sink, so a block changes
many accounts (their nonces) as well as many balance slots. The same run
with one transfer per block shows what a trie root per transaction costs
(what a naive py-evm integration pays). ``--profile`` adds a cProfile
breakdown of where the time goes. Run ``consortia bench evm --help``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import lmdb

from consortia.bench.erc20 import token_creation_code, transfer_data
from consortia.codec import encode
from consortia.crypto import KeyType, PrivateKey, get_suite, keccak256
from consortia.evm.types import Call, Deploy
from consortia.execution.executor import execute_block
from consortia.execution.module import BlockContext
from consortia.execution.policy import ChainPolicy
from consortia.execution.state_view import StateView
from consortia.genesis import Genesis, build_genesis, runtime_for
from consortia.ledger.types import (
    STATUS_OK,
    Transaction,
    TxBody,
    ValidatorInfo,
    ValidatorSet,
    tx_id,
)
from consortia.modules.accounts.types import AccountKey, GenesisAccount
from consortia.state import StateTree

CHAIN_ID: Final = "bench-evm"
GAS: Final = 1_000_000


def _transfer_call(token: bytes, to: bytes, amount: int) -> Call:
    return Call(to=token, data=transfer_data(to, amount))


def _tx(key: PrivateKey, nonce: int, method: str, args: object) -> Transaction:
    """An unsigned envelope: execution does not check signatures (admission does)."""
    body = TxBody(
        chain_id=CHAIN_ID,
        sender=key.public_key().address(),
        nonce=nonce,
        module="evm",
        method=method,
        args=encode(args),
        gas_limit=GAS,
        expiry_height=2**62,
    )
    return Transaction(
        body=body, key_type="sm2", public_key=key.public_key().to_bytes(), signature=bytes(8)
    )


def _genesis(holder: PrivateKey, senders: list[PrivateKey]) -> Genesis:
    validator = PrivateKey.from_secret(KeyType.SM2, b"\x02" * 32).public_key()
    info = ValidatorInfo(
        name="v0",
        organisation="o",
        address=validator.address(),
        key_type="sm2",
        public_key=validator.to_bytes(),
        weight=1,
    )
    accounts = tuple(
        GenesisAccount(
            address=k.public_key().address(),
            keys=(AccountKey(key_type="sm2", public_key=k.public_key().to_bytes()),),
        )
        for k in (holder, *senders)
    )
    return Genesis(
        chain_id=CHAIN_ID,
        suite="sm",
        timestamp_ms=0,
        policy=ChainPolicy(contract_deployment="open", max_block_txs=100_000),
        validators=ValidatorSet(epoch=0, validators=(info,)),
        accounts=accounts,
    )


class Bench:
    """A scratch chain with the token deployed (and ``senders`` accounts funded)."""

    def __init__(self, root: Path, senders: int = 0) -> None:
        self.holder = PrivateKey.from_secret(KeyType.SM2, b"\x01" * 32)
        self.senders = [
            PrivateKey.from_secret(KeyType.SM2, (1_000 + i).to_bytes(32, "big"))
            for i in range(senders)
        ]
        self.sink = keccak256(b"consortia bench sink")[12:]
        genesis = _genesis(self.holder, self.senders)
        self.hash = get_suite("sm").hash
        self.env = lmdb.open(str(root), max_dbs=32, map_size=1 << 36, sync=False)
        self.tree = StateTree(self.env, self.hash)
        self.runtime = runtime_for(genesis)
        self.policy = genesis.policy
        with self.env.begin(write=True) as txn:
            build_genesis(genesis, self.runtime, self.tree, txn)
        self.height = 0
        self.nonces: dict[bytes, int] = {}
        creation = token_creation_code()
        (outcome,) = self.block([_tx(self.holder, self._next_nonce(), "deploy", Deploy(creation))])
        created = next(e for e in outcome.receipt.events if e.name == "contract_created")
        self.token = bytes.fromhex(dict(created.attributes)["address"])
        funding = [
            _tx(
                self.holder,
                self._next_nonce(),
                "call",
                _transfer_call(self.token, k.public_key().address(), 10**9),
            )
            for k in self.senders
        ]
        for start in range(0, len(funding), 1_000):
            self.block(funding[start : start + 1_000])

    def _next_nonce(self, key: PrivateKey | None = None) -> int:
        address = (key or self.holder).public_key().address()
        nonce = self.nonces.get(address, 0)
        self.nonces[address] = nonce + 1
        return nonce

    def transfer(self, recipient: int) -> Transaction:
        """A transfer of 1 unit to recipient number ``recipient``."""
        to = keccak256(recipient.to_bytes(8, "big"))[12:]
        call = _transfer_call(self.token, to, 1)
        return _tx(self.holder, self._next_nonce(), "call", call)

    def transfer_from(self, sender: int) -> Transaction:
        """A transfer of 1 unit from sender number ``sender`` to the sink (the load's shape)."""
        key = self.senders[sender]
        call = _transfer_call(self.token, self.sink, 1)
        return _tx(key, self._next_nonce(key), "call", call)

    def block(self, txs: list[Transaction]) -> list[Any]:
        """Execute and commit one block, as the execution thread does."""
        self.height += 1
        context = BlockContext(
            chain_id=CHAIN_ID, height=self.height, timestamp_ms=self.height * 1000, proposer=0
        )
        items = [(tx, tx_id(self.hash, tx.body), len(encode(tx))) for tx in txs]
        with self.env.begin(write=True) as txn:
            view = StateView(self.tree, txn, self.height - 1)
            outcomes = execute_block(self.runtime, view, self.policy, context, items)
            self.tree.apply(txn, self.height, view.changes())
        failed = [o.receipt for o in outcomes if o.receipt.status != STATUS_OK]
        if failed:
            raise RuntimeError(f"benchmark transaction failed: {failed[0]}")
        return outcomes

    def close(self) -> None:
        self.env.close()


def measure(
    transfers: int, block_size: int, recipients: int, profile: bool, senders: int = 0
) -> dict[str, Any]:
    """Transfers per second (and a profile) for one block size, on a fresh chain.

    ``senders``: 0 for the holder-to-``recipients`` shape, else that many
    funded senders sending in turn to one sink (funding is not timed).
    """
    with tempfile.TemporaryDirectory(prefix="consortia-bench-evm-") as tmp:
        bench = Bench(Path(tmp), senders)
        try:
            blocks = [
                [
                    bench.transfer_from((b * block_size + i) % senders)
                    if senders
                    else bench.transfer((b * block_size + i) % recipients)
                    for i in range(block_size)
                ]
                for b in range(max(1, transfers // block_size))
            ]
            profiler = cProfile.Profile() if profile else None
            times = []
            started = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            for txs in blocks:
                t0 = time.perf_counter()
                bench.block(txs)
                times.append(time.perf_counter() - t0)
            if profiler is not None:
                profiler.disable()
            elapsed = time.perf_counter() - started
        finally:
            bench.close()
    done = len(blocks) * block_size
    result: dict[str, Any] = {
        "block_size": block_size,
        "senders": senders,
        "transfers": done,
        "transfers_per_s": done / elapsed,
        "block_ms_p50": statistics.median(times) * 1000,
        "block_ms_max": max(times) * 1000,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if profiler is not None:
        result["profile"] = _breakdown(profiler, elapsed)
    return result


_BUCKETS: Final = (
    ("trie root and persist", ("persist", "make_state_root", "_set_raw_node", "HexaryTrie")),
    ("EVM opcode execution", ("eth/vm/logic", "eth/vm/computation", "apply_computation")),
    ("chain-state tree (JMT)", ("consortia/state/",)),
    ("LMDB", ("lmdb",)),
)


def _breakdown(profiler: cProfile.Profile, elapsed: float) -> dict[str, float]:
    """Share of the time under a few functions (cumulative, so shares may overlap)."""
    stats = pstats.Stats(profiler, stream=io.StringIO())
    shares: dict[str, float] = {}
    entries = stats.stats  # type: ignore[attr-defined]
    for label, needles in _BUCKETS:
        best = 0.0
        for (filename, _, function), (_, _, _, cumulative, _) in entries.items():
            where = f"{filename}:{function}"
            if any(n in where for n in needles):
                best = max(best, cumulative)
        shares[label] = round(100 * best / elapsed, 1)
    persist = max(
        (cum for (f, _, fn), (_, _, _, cum, _) in entries.items() if fn == "persist"),
        default=0.0,
    )
    shares["py-evm persist (root per block)"] = round(100 * persist / elapsed, 1)
    return shares


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run the block sizes given and print one JSON line each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transfers", type=int, default=2_000)
    parser.add_argument("--block-sizes", default="1,100,1000")
    parser.add_argument("--recipients", type=int, default=1_000)
    parser.add_argument(
        "--senders",
        type=int,
        default=0,
        help="0: one holder to --recipients; N: N funded senders in turn to one sink",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per block size (median)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    results = []
    for size in (int(s) for s in args.block_sizes.split(",")):
        runs = [
            measure(
                min(args.transfers, size * 200) if size == 1 else args.transfers,
                size,
                args.recipients,
                args.profile and i == 0,
                args.senders,
            )
            for i in range(args.repeat)
        ]
        best = sorted(runs, key=lambda r: r["transfers_per_s"])[len(runs) // 2]
        best["transfers_per_s_runs"] = [round(r["transfers_per_s"], 1) for r in runs]
        if args.profile:
            best["profile"] = runs[0].get("profile")
        results.append(best)
        print(json.dumps(best), flush=True)
    return results


if __name__ == "__main__":
    main()
