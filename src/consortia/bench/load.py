"""``consortia bench run``: committed throughput and commit latency of a live network.

Open loop (``--rate R``: batches sent on a fixed schedule whatever happens) or
closed loop (no rate: keep a window of transactions in flight). Transactions
are signed before the clock starts, in worker processes. Commit times come
from the node's WebSocket event stream; the first ``warmup`` seconds are
excluded from every figure. Per-node CPU and peak RSS are sampled with psutil.
The machine limit (verifications per second on all cores / validators) is
measured in the same run.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import websockets

from consortia.bench import erc20
from consortia.bench.limit import verify_rate
from consortia.bench.workload import Account, setup_transactions, workload_transactions
from consortia.codec import decode
from consortia.crypto import KeyType, get_suite
from consortia.evm.context import evm_chain_id
from consortia.evm.ethtx import envelope
from consortia.execution.policy import ChainPolicy
from consortia.ledger.types import Transaction, tx_id
from consortia.node.init import init_network
from consortia.node.processes import NodeProcesses

RPC_BATCH = 100
"""Requests per JSON-RPC batch (the node's limit)."""
EXPIRY = 90_000
"""Expiry height of benchmark transactions: within policy's max_expiry_blocks of a young chain."""


@dataclass(frozen=True)
class LoadConfig:
    """What to run."""

    workload: str = "transfer"
    suite: str = "sm"
    key_type: str = "sm2"
    validators: int = 1
    duration_s: float = 20.0
    warmup_s: float = 3.0
    rate: float | None = None
    senders: int = 200
    batch: int = 200
    window: int = 8_000
    nodes: tuple[str, ...] = ()
    api_port: int = 18545


@dataclass
class _Tracker:
    sent: dict[bytes, float] = field(default_factory=dict)
    committed: dict[bytes, float] = field(default_factory=dict)
    failed_status: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    blocks: list[tuple[float, int, int]] = field(default_factory=list)
    """(local receive time, height, tx_count)."""


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _listen(api: str, tracker: _Tracker, ready: asyncio.Event) -> None:
    url = api.replace("http://", "ws://") + "/v1/events"
    async with websockets.connect(url, max_size=None) as ws:
        ready.set()
        async for message in ws:
            event = json.loads(message)
            now = time.perf_counter()
            if event["type"] == "tx":
                identifier = bytes.fromhex(event["tx_id"].removeprefix("0x"))
                tracker.committed.setdefault(identifier, now)
                if event["status"] != "OK":
                    tracker.failed_status[event["status"]] += 1
            elif event["type"] == "block":
                tracker.blocks.append((now, event["height"], event["tx_count"]))


async def _post_batch(client: httpx.AsyncClient, api: str, batch: list[bytes]) -> list[Any]:
    response = await client.post(
        f"{api}/v1/transactions/batch", json={"txs": [raw.hex() for raw in batch]}, timeout=60
    )
    response.raise_for_status()
    results: list[Any] = response.json()["results"]
    return results


async def _post_rpc_batch(client: httpx.AsyncClient, api: str, batch: list[bytes]) -> list[Any]:
    """Send raw Ethereum transactions as JSON-RPC batches (of at most the node's 100);
    per item ``{}`` or an error with the Consortia code."""
    results: list[Any] = []
    for start in range(0, len(batch), RPC_BATCH):
        chunk = batch[start : start + RPC_BATCH]
        requests = [
            {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [_hex(r)]}
            for i, r in enumerate(chunk)
        ]
        response = await client.post(f"{api}/rpc", json=requests, timeout=60)
        response.raise_for_status()
        answers = {a["id"]: a for a in response.json()}
        for i in range(len(chunk)):
            error = answers[i].get("error")
            if error is None:
                results.append({})
            else:
                code = (error.get("data") or {}).get("code", f"RPC_{error['code']}")
                results.append({"error": {"code": code}})
    return results


def _hex(raw: bytes) -> str:
    return "0x" + raw.hex()


async def _wait_committed(tracker: _Tracker, ids: list[bytes], timeout_s: float) -> None:
    deadline = time.perf_counter() + timeout_s
    while any(i not in tracker.committed for i in ids):
        if time.perf_counter() > deadline:
            missing = sum(i not in tracker.committed for i in ids)
            raise RuntimeError(f"{missing} setup transactions not committed in {timeout_s:g} s")
        await asyncio.sleep(0.05)


def _interleave(runs: list[list[bytes]]) -> list[bytes]:
    """Round-robin across senders, keeping each sender's nonce order."""
    out: list[bytes] = []
    for i in range(max(len(r) for r in runs)):
        out.extend(r[i] for r in runs if i < len(r))
    return out


class _Sampler:
    """Peak RSS and CPU seconds of node processes."""

    def __init__(self, pids: list[int]) -> None:
        self._procs = [psutil.Process(p) for p in pids]
        self.peak_rss = [0] * len(pids)
        self._cpu0 = [self._cpu(p) for p in self._procs]

    @staticmethod
    def _cpu(proc: psutil.Process) -> float:
        times = proc.cpu_times()
        return float(times.user + times.system + times.children_user + times.children_system)

    def sample(self) -> None:
        for i, proc in enumerate(self._procs):
            try:
                self.peak_rss[i] = max(self.peak_rss[i], proc.memory_info().rss)
            except psutil.Error:
                continue

    def cpu_seconds(self) -> list[float]:
        return [self._cpu(p) - c0 for p, c0 in zip(self._procs, self._cpu0, strict=True)]


async def _drive(
    config: LoadConfig, apis: list[str], pids: list[int], hash_name: str
) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        status = (await client.get(f"{apis[0]}/v1/status")).json()
    chain_id = status["chain_id"]
    hash_fn = get_suite(status["suite"]).hash
    # Ethereum-signed transactions come from secp256k1 accounts.
    key_type = KeyType.SECP256K1 if config.workload == "erc20" else KeyType(config.key_type)
    base = int.from_bytes(os.urandom(4), "big") * 1_000_000
    issuer = Account(key_type, base)
    senders = [Account(key_type, base + 1 + i) for i in range(config.senders)]
    tracker = _Tracker()
    ready = asyncio.Event()
    listener = asyncio.create_task(_listen(apis[0], tracker, ready))
    await ready.wait()

    evm = config.workload == "erc20"
    post = _post_rpc_batch if evm else _post_batch

    def ids_of(raws: list[bytes]) -> list[bytes]:
        if evm:
            chain = evm_chain_id(chain_id)
            return [tx_id(hash_fn, envelope(r, chain_id, chain).body) for r in raws]
        return [tx_id(hash_fn, decode(r, Transaction).body) for r in raws]

    async with httpx.AsyncClient() as client:
        if evm:
            setup = await asyncio.to_thread(erc20.setup_transactions, issuer, senders, chain_id)
        else:
            setup = setup_transactions(config.workload, issuer, senders, chain_id, EXPIRY)
        for i in range(0, len(setup), config.batch):
            await post(client, apis[0], setup[i : i + config.batch])
        await _wait_committed(tracker, ids_of(setup), 120)

        limit = verify_rate(key_type) / config.validators
        target = config.rate or limit
        per_sender = max(1, int(target * (config.duration_s + 5) * 1.2 / config.senders) + 1)
        workers = max(1, (os.cpu_count() or 1))
        if evm:
            runs = await asyncio.to_thread(
                erc20.workload_transactions, issuer, senders, per_sender, chain_id, workers
            )
        else:
            runs = await asyncio.to_thread(
                workload_transactions,
                senders,
                per_sender,
                chain_id,
                config.workload,
                EXPIRY,
                workers,
            )
        ordered = _interleave(runs)
        ordered_ids = await asyncio.to_thread(ids_of, ordered)

        sampler = _Sampler(pids)
        start = time.perf_counter()
        end = start + config.duration_s
        position = 0
        batch_no = 0
        while time.perf_counter() < end and position < len(ordered):
            now = time.perf_counter()
            if config.rate is not None:
                due = start + batch_no * config.batch / config.rate
                if due > now:
                    await asyncio.sleep(due - now)
            elif position - len(tracker.committed) > config.window:
                await asyncio.sleep(0.005)
                continue
            batch = ordered[position : position + config.batch]
            batch_ids = ordered_ids[position : position + config.batch]
            api = apis[batch_no % len(apis)]
            sent_at = time.perf_counter()
            results = await post(client, api, batch)
            for identifier, result in zip(batch_ids, results, strict=True):
                if "error" in result:
                    tracker.rejected[result["error"]["code"]] += 1
                else:
                    tracker.sent[identifier] = sent_at
            position += len(batch)
            batch_no += 1
            sampler.sample()
        sent_until = time.perf_counter()
        drain_deadline = sent_until + 15
        while time.perf_counter() < drain_deadline and any(
            i not in tracker.committed for i in list(tracker.sent)[-100:]
        ):
            sampler.sample()
            await asyncio.sleep(0.1)
    listener.cancel()
    cpu = sampler.cpu_seconds()
    window_start, window_end = start + config.warmup_s, sent_until
    latencies = [
        tracker.committed[i] - t
        for i, t in tracker.sent.items()
        if i in tracker.committed and window_start <= t <= window_end
    ]
    committed_in_window = sum(
        1
        for i, t in tracker.committed.items()
        if window_start <= t <= window_end and i in tracker.sent
    )
    span = max(window_end - window_start, 1e-9)
    block_times = [t for t, _, _ in tracker.blocks if window_start <= t <= window_end]
    intervals = [b - a for a, b in itertools.pairwise(block_times)]
    committed_tps = committed_in_window / span
    return {
        "committed_tps": committed_tps,
        "latency_p50_s": _percentile(latencies, 0.50),
        "latency_p95_s": _percentile(latencies, 0.95),
        "latency_p99_s": _percentile(latencies, 0.99),
        "latency_max_s": max(latencies, default=float("nan")),
        "block_interval_mean_s": statistics.fmean(intervals) if intervals else float("nan"),
        "limit_tps": limit,
        "limit_ratio": committed_tps / limit if limit else float("nan"),
        "submitted": len(tracker.sent),
        "committed": len(tracker.committed),
        "rejected_by_code": dict(tracker.rejected),
        "failed_by_status": dict(tracker.failed_status),
        "peak_rss_bytes_per_node": sampler.peak_rss,
        "cpu_seconds_per_node": cpu,
        "measured_s": span,
        "hash": hash_name,
    }


def run_load(config: LoadConfig) -> dict[str, Any]:
    """Run the benchmark (starting a local network unless ``config.nodes`` is given)."""
    machine = {
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "memory_bytes": psutil.virtual_memory().total,
    }
    hash_name = get_suite(config.suite).hash_name
    if config.nodes:
        result = asyncio.run(_drive(config, list(config.nodes), [], hash_name))
    else:
        open_policy = ChainPolicy(contract_deployment="open")
        with tempfile.TemporaryDirectory(prefix="consortia-bench-") as tmp:
            root = Path(tmp) / "net"
            init_network(
                root,
                validators=config.validators,
                orgs=config.validators,
                suite=config.suite,
                base_api_port=config.api_port,
                base_p2p_port=config.api_port + 1000,
                # The erc20 workload deploys its own token: an open deployment policy.
                policy=open_policy if config.workload == "erc20" else None,
            )
            with NodeProcesses(root) as network:
                apis = [e.api for e in network.entries]
                pids = [network.pid(e.name) or 0 for e in network.entries]
                result = asyncio.run(_drive(config, apis, pids, hash_name))
    return {"config": asdict(config), "machine": machine, "command": sys.argv, **result}
