"""``consortia bench run``: committed throughput and commit latency of a live network.

Workloads: native asset transfers (``transfer``), asset issues (``issue``),
ERC-20 transfers as Ethereum-signed transactions via JSON-RPC (``erc20``), or
a ``mixed`` run of all three in set proportions (``schedule.DEFAULT_MIX``).
Every transaction is signed before the clock starts, in worker processes.

Sending is open loop (a schedule of send rates: fixed, a linear ramp, or
phases; slots fall due whatever the network does) or closed loop (keep a
window of acknowledged-but-uncommitted transactions in flight). A send slot
goes to the next sender of the kind the mix deals it; each sender sends its
transactions in nonce order. A transaction refused with a retryable code
(``RETRYABLE``: the pool is full, the sender is over a limit) keeps its place:
that sender's next slot resends it, as a wallet resends with the same nonce,
so acknowledged transactions never wait behind a nonce that was dropped.
Another refusal retires the sender.

Commit times come from the first node's WebSocket event stream (the time its
block's event arrived); when the node drops the stream for lagging, the run
rejoins and reads the blocks it missed over REST. After sending, the run waits
for acknowledged transactions to commit, then asks the node that acknowledged
each one still missing whether it is pending or unknown: unknown is *lost*.
Per-node CPU and RSS are sampled with psutil (for ``--nodes``, the local
processes listening on the nodes' ports, if any). The machine limit
(signature verifications per second on all cores / validators) is measured in
the same run, before the load. ``report.summarise`` makes the report.

With ``state_accounts`` the local network's genesis also holds that many
filler accounts (``filler``); the run times building the genesis and starting
the nodes one after another, samples the nodes' RSS meanwhile, and reads a few
fillers back from every node.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import math
import os
import shlex
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import psutil
import websockets

from consortia.bench import erc20
from consortia.bench.errors import BenchSetupFailed, BenchUnreachable
from consortia.bench.filler import filler_accounts, filler_key
from consortia.bench.limit import verify_rate
from consortia.bench.machine import describe_machine
from consortia.bench.report import Observations, summarise
from consortia.bench.schedule import (
    DEFAULT_MIX,
    KINDS,
    WORKLOADS,
    Schedule,
    Segment,
    kind_pattern,
)
from consortia.bench.workload import Account, setup_transactions, workload_transactions
from consortia.codec import decode
from consortia.crypto import KeyType, get_suite
from consortia.crypto.batch import worker_count
from consortia.evm.context import evm_chain_id
from consortia.evm.ethtx import envelope
from consortia.execution.policy import ChainPolicy
from consortia.ledger.types import Transaction, tx_id
from consortia.node.init import init_network
from consortia.node.processes import NodeProcesses

RPC_BATCH: Final = 100
"""Requests per JSON-RPC batch (the node's limit)."""
EXPIRY: Final = 90_000
"""Expiry height of benchmark transactions: within policy's max_expiry_blocks of a young chain."""
TRANSPORT_ERROR: Final = "BENCH_TRANSPORT_ERROR"
"""Code counted when a batch's HTTP request itself failed (nothing known about its items)."""
RETRYABLE: Final = frozenset(
    {"MEMPOOL_FULL", "TX_RATE_LIMITED", "TX_SENDER_LIMIT", TRANSPORT_ERROR}
)
"""Refusals after which the same transaction is sent again at its sender's next slot."""
ADMITTED_BEFORE: Final = frozenset({"TX_DUPLICATE", "TX_NONCE_PENDING"})
"""Answers to a resend after a failed request that mean the first request got through."""
TICK_S: Final = 0.02
OPEN_LOOP_REQUESTS_PER_NODE: Final = 8
"""Open loop: most requests in flight per node, so an overloaded node sees the offered
load arrive (as from many clients) rather than one slow request at a time."""
"""Open loop: how often due transactions are sent."""
STALL_S: Final = 15.0
"""Stop waiting for commits after this long without one."""
SAMPLE_EVERY_S: Final = 0.5
"""Resource sampling period."""
CLOSED_LOOP_PRESIGN_TPS: Final = 20_000.0
"""Closed loop: sign for at most this rate (or the machine limit, if lower)."""
EVM_PRESIGN_TPS: Final = 1_500.0
"""Closed loop: sign ERC-20 transfers for at most this rate (EVM execution is ~1,000/s a core)."""
SETUP_TIMEOUT_S: Final = 120.0
SETUP_WAVE: Final = 1_000
"""Setup transactions posted before waiting for them to commit: one issuer funds every
sender, and a node holds at most 1,024 pending transactions of one sender."""
"""How long setup transactions may take to commit."""
CHECK_CONCURRENCY: Final = 16
"""Concurrent look-ups when checking acknowledged transactions that did not commit."""
START_WAIT_S: Final = 60.0
"""How long a node of a local network may take to serve its API, with an empty genesis."""
START_WAIT_PER_FILLER_S: Final = 1e-3
"""More start-up time allowed per filler account (a node took about 35 s at 1 M)."""
STARTUP_SAMPLE_S: Final = 0.2
"""RSS sampling period while the local network starts."""


@dataclass(frozen=True)
class LoadConfig:
    """What to run; ``ValueError`` on a combination that cannot run."""

    workload: str = "transfer"
    """``transfer``, ``issue``, ``erc20`` or ``mixed``."""
    suite: str = "sm"
    """Crypto suite of the local network (``sm`` or ``intl``)."""
    key_type: str = "sm2"
    """Key type of native senders (ERC-20 senders are always secp256k1)."""
    validators: int = 1
    """Validators of the local network."""
    duration_s: float = 20.0
    """Seconds of sending (a phased schedule sets its own length)."""
    warmup_s: float = 3.0
    """Seconds at the start left out of every figure but the time series."""
    rate: float | None = None
    """Open loop at a fixed rate (transactions per second)."""
    ramp: tuple[float, float] | None = None
    """Open loop rising (or falling) linearly from the first rate to the second."""
    phases: tuple[tuple[float, float], ...] = ()
    """Open loop in phases of (rate, seconds)."""
    mix: tuple[tuple[str, int], ...] = DEFAULT_MIX
    """Weights of the kinds in a ``mixed`` run."""
    senders: int = 200
    """Sender accounts (split between the kinds by weight)."""
    batch: int = 200
    """Most transactions sent in one request."""
    window: int = 2_000
    """Closed loop: most acknowledged transactions not yet committed."""
    drain_s: float = 60.0
    """Most seconds to wait for acknowledged transactions to commit after sending."""
    nodes: tuple[str, ...] = ()
    """API URLs of a running network (no local network is started)."""
    api_port: int = 18545
    """First API port of the local network (P2P ports start 1,000 higher)."""
    state_accounts: int = 0
    """Filler accounts in the local network's genesis (``filler``), so state starts this big."""

    def __post_init__(self) -> None:
        if self.workload not in WORKLOADS:
            raise ValueError(f"workload must be one of {', '.join(WORKLOADS)}")
        if self.key_type not in ("sm2", "p256", "secp256k1"):
            raise ValueError("key type must be sm2, p256 or secp256k1")
        if self.workload == "erc20" and self.key_type != "secp256k1":
            raise ValueError("erc20 sends Ethereum-signed transactions: use --key-type secp256k1")
        if sum(x is not None and x != () for x in (self.rate, self.ramp, self.phases or None)) > 1:
            raise ValueError("give at most one of --rate, --ramp and --phases")
        if self.rate is not None and not (math.isfinite(self.rate) and self.rate > 0):
            raise ValueError("rate must be a number > 0")
        if self.validators < 1 or self.senders < 1 or self.batch < 1 or self.window < 1:
            raise ValueError("validators, senders, batch and window must be at least 1")
        if not self.duration_s > 0 or self.warmup_s < 0 or self.drain_s < 0:
            raise ValueError("duration must be > 0; warm-up and drain >= 0")
        if self.warmup_s >= self.load_seconds:
            raise ValueError("the warm-up must be shorter than the run")
        if self.workload == "mixed" and not self.kinds:
            raise ValueError("the mix has no kind with a positive weight")
        if self.senders < len(self.kinds):
            raise ValueError(f"need at least one sender per kind ({len(self.kinds)})")
        if self.state_accounts < 0:
            raise ValueError("state accounts must be >= 0")
        if self.state_accounts and self.nodes:
            raise ValueError("state accounts go into a local network's genesis, not --nodes")

    @property
    def kinds(self) -> tuple[tuple[str, int], ...]:
        """(kind, weight) of every kind sent."""
        if self.workload == "mixed":
            return tuple((k, w) for k, w in self.mix if k in KINDS and w > 0)
        return ((self.workload, 1),)

    @property
    def schedule(self) -> Schedule | None:
        """The open-loop send rate over time (None: closed loop)."""
        if self.rate is not None:
            return Schedule((Segment(self.duration_s, self.rate, self.rate),))
        if self.ramp is not None:
            return Schedule((Segment(self.duration_s, *self.ramp),))
        if self.phases:
            return Schedule(tuple(Segment(s, r, r) for r, s in self.phases))
        return None

    @property
    def load_seconds(self) -> float:
        """Seconds of sending."""
        schedule = self.schedule
        return self.duration_s if schedule is None else schedule.seconds


def key_type_of(kind: str, native: str) -> KeyType:
    """Key type of a kind's senders: Ethereum-signed ERC-20 transfers need secp256k1."""
    return KeyType.SECP256K1 if kind == "erc20" else KeyType(native)


# ------------------------------------------------------------------ senders


@dataclass(slots=True)
class _Sender:
    """One account's pre-signed transactions and where its sending stands."""

    kind: str
    raws: list[bytes]
    ids: list[bytes]
    cursor: int = 0
    """Next transaction never sent."""
    retry: list[int] = field(default_factory=list)
    """Heap of refused transactions to send again first."""
    retired: bool = False
    """A refusal that resending cannot cure: send nothing more."""
    uncertain: set[int] = field(default_factory=set)
    """Sent in a request that failed: a later duplicate answer means admitted."""

    def next_index(self) -> int | None:
        if self.retired:
            return None
        if self.retry:
            return heapq.heappop(self.retry)
        if self.cursor < len(self.raws):
            self.cursor += 1
            return self.cursor - 1
        return None


class _Pool:
    """Deals send slots to kinds in mix order and, within a kind, to its senders in turn."""

    def __init__(self, senders: list[_Sender], mix: Sequence[tuple[str, int]]) -> None:
        self.senders = senders
        self.pattern = kind_pattern(mix)
        self.members = {k: [i for i, s in enumerate(senders) if s.kind == k] for k, _ in mix}
        self._turn = dict.fromkeys(self.members, 0)
        self._slot = 0
        self.exhausted = False

    def take(self, n: int) -> list[tuple[int, int]]:
        """Up to ``n`` (sender, transaction index) picks; fewer once a kind runs out."""
        picks: list[tuple[int, int]] = []
        while len(picks) < n and not self.exhausted:
            kind = self.pattern[self._slot % len(self.pattern)]
            self._slot += 1
            pick = self._next_of(kind)
            if pick is None:
                self.exhausted = True
            else:
                picks.append(pick)
        return picks

    def _next_of(self, kind: str) -> tuple[int, int] | None:
        members = self.members[kind]
        for _ in range(len(members)):
            index = members[self._turn[kind] % len(members)]
            self._turn[kind] += 1
            tx = self.senders[index].next_index()
            if tx is not None:
                return index, tx
        return None


# ------------------------------------------------------------------ node I/O


def _hex(raw: bytes) -> str:
    return "0x" + raw.hex()


async def _post_native(client: httpx.AsyncClient, api: str, raws: list[bytes]) -> list[str | None]:
    """Submit a batch over REST: per item None (admitted) or the refusal code."""
    response = await client.post(
        f"{api}/v1/transactions/batch", json={"txs": [r.hex() for r in raws]}, timeout=60
    )
    response.raise_for_status()
    return [
        (item.get("error") or {}).get("code") if item.get("error") else None
        for item in response.json()["results"]
    ]


async def _post_evm(client: httpx.AsyncClient, api: str, raws: list[bytes]) -> list[str | None]:
    """Send raw Ethereum transactions as JSON-RPC batches (of at most the node's 100):
    per item None or the Consortia refusal code."""
    codes: list[str | None] = []
    for start in range(0, len(raws), RPC_BATCH):
        chunk = raws[start : start + RPC_BATCH]
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
                codes.append(None)
            else:
                codes.append((error.get("data") or {}).get("code", f"RPC_{error['code']}"))
    return codes


async def _post_guarded(
    post: Callable[[httpx.AsyncClient, str, list[bytes]], Coroutine[Any, Any, list[str | None]]],
    client: httpx.AsyncClient,
    api: str,
    raws: list[bytes],
) -> list[str | None]:
    if not raws:
        return []
    try:
        return await post(client, api, raws)
    except httpx.HTTPError:
        return [TRANSPORT_ERROR] * len(raws)


class _Listener:
    """Commits from one node's event stream; rejoins when dropped and reads missed blocks.

    A node drops a subscriber whose backlog passes its bound (65,536 events,
    whole blocks at a time): a busy load generator can fall that far behind.
    So on rejoining, and at the end, every height not streamed in full is read
    over REST; a
    transaction first seen that way commits at its block's event time, or at
    the first streamed transaction of that block, or (only when neither
    arrived) at the time of reading, which is then marked as an estimate.
    """

    def __init__(self, api: str, obs: Observations, client: httpx.AsyncClient) -> None:
        self._api = api
        self._url = api.replace("http://", "ws://").replace("https://", "wss://") + "/v1/events"
        self._obs = obs
        self._client = client
        self._block_time: dict[int, float] = {}
        self._expected: dict[int, int] = {}
        self._seen: dict[int, int] = {}
        self._verified = 0
        """Every height up to this one was streamed in full or read back."""
        self._rejoined = False
        self._backfills: set[asyncio.Task[None]] = set()

    async def run(self, height: int, ready: asyncio.Event) -> None:
        """Listen until cancelled; ``ready`` is set once the first subscription is open."""
        self._verified = height
        while True:
            try:
                async with websockets.connect(self._url, max_size=None) as ws:
                    ready.set()
                    async for message in ws:
                        event = json.loads(message)
                        if event["type"] == "block":
                            self._on_block(event)
                        elif event["type"] == "tx":
                            self._on_tx(event)
            except (websockets.ConnectionClosed, websockets.InvalidHandshake, OSError):
                await asyncio.sleep(0.05)
            if ready.is_set():
                self._obs.ws_reconnects += 1
                self._rejoined = True

    def _complete(self, height: int) -> bool:
        return height in self._expected and self._seen.get(height, 0) >= self._expected[height]

    def _unverified(self, top: int) -> range:
        while self._verified < top and self._complete(self._verified + 1):
            self._verified += 1
        return range(self._verified + 1, top + 1)

    def _on_block(self, event: dict[str, Any]) -> None:
        now = time.perf_counter()
        height = int(event["height"])
        self._block_time[height] = now
        self._expected[height] = int(event["tx_count"])
        if self._rejoined:
            self._rejoined = False
            self._backfill(self._unverified(height - 1))
        self._obs.blocks.append((now, height, int(event["tx_count"])))

    def _on_tx(self, event: dict[str, Any]) -> None:
        height = int(event["height"])
        self._seen[height] = self._seen.get(height, 0) + 1
        at = self._block_time.setdefault(height, time.perf_counter())
        self._obs.commit(bytes.fromhex(event["tx_id"].removeprefix("0x")), at, event["status"])

    def _backfill(self, heights: range) -> None:
        if heights:
            self._backfills.add(asyncio.create_task(self._read_blocks(heights)))

    async def _read_blocks(self, heights: range) -> None:
        for height in heights:
            if self._complete(height):
                continue
            for attempt in range(5):
                try:
                    response = await self._client.get(f"{self._api}/v1/blocks/{height}", timeout=30)
                    response.raise_for_status()
                    break
                except httpx.HTTPError:
                    if attempt == 4:
                        raise
                    await asyncio.sleep(1.0)
            known = self._block_time.get(height)
            at = time.perf_counter() if known is None else known
            transactions = response.json()["transactions"]
            for text in transactions:
                identifier = bytes.fromhex(text.removeprefix("0x"))
                self._obs.commit(identifier, at, None, estimated=known is None)
            self._expected[height] = self._seen[height] = len(transactions)

    async def flush(self) -> None:
        """Read every block not streamed in full, and wait for all reads (raising their errors)."""
        response = await self._client.get(f"{self._api}/v1/status", timeout=30)
        self._backfill(self._unverified(int(response.json()["height"])))
        while self._backfills:
            done = list(self._backfills)
            self._backfills.clear()
            await asyncio.gather(*done)


class _Sampler:
    """RSS and CPU seconds of the node processes (and this process) about twice a second."""

    def __init__(self, pids: Sequence[int | None], obs: Observations) -> None:
        self._procs: list[psutil.Process | None] = []
        for pid in pids:
            try:
                self._procs.append(None if pid is None else psutil.Process(pid))
            except psutil.Error:
                self._procs.append(None)
        self._me = psutil.Process()
        self._obs = obs

    @staticmethod
    def _cpu(proc: psutil.Process) -> float:
        times = proc.cpu_times()
        return float(times.user + times.system + times.children_user + times.children_system)

    def sample(self) -> None:
        rss: list[int | None] = []
        cpu: list[float | None] = []
        for proc in self._procs:
            try:
                rss.append(None if proc is None else int(proc.memory_info().rss))
                cpu.append(None if proc is None else self._cpu(proc))
            except psutil.Error:
                rss.append(None)
                cpu.append(None)
        self._obs.samples.append((time.perf_counter(), rss, cpu, self._cpu(self._me)))

    async def run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(SAMPLE_EVERY_S)


class _StartupSampler:
    """Peak RSS of each node process of a starting network, sampled by a thread it owns.

    A context manager: the thread samples from ``__enter__`` to ``__exit__``.
    """

    def __init__(self, network: NodeProcesses) -> None:
        self._network = network
        self._names = [e.name for e in network.entries]
        self.peak: list[int | None] = [None] * len(self._names)
        """Highest RSS seen per node (None: never seen running)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-startup-rss", daemon=True)

    def __enter__(self) -> _StartupSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> list[int | None]:
        """RSS of every node now (None for one not running), raising ``peak``."""
        rss: list[int | None] = []
        for i, name in enumerate(self._names):
            pid = self._network.pid(name)
            value: int | None = None
            if pid is not None:
                try:
                    value = int(psutil.Process(pid).memory_info().rss)
                except psutil.Error:
                    value = None
            if value is not None:
                self.peak[i] = max(value, self.peak[i] or 0)
            rss.append(value)
        return rss

    def _run(self) -> None:
        while not self._stop.wait(STARTUP_SAMPLE_S):
            self.sample()


def _start_network(network: NodeProcesses, fillers: int) -> dict[str, Any]:
    """Start the nodes one after another; how long each took and their RSS meanwhile.

    Raises:
        ConfigError: a node exited or did not serve its API in time.
    """
    wait_s = START_WAIT_S + fillers * START_WAIT_PER_FILLER_S
    per_node: list[float] = []
    with _StartupSampler(network) as sampler:
        for entry in network.entries:
            started = time.perf_counter()
            network.start(entry.name, wait_s=wait_s)
            per_node.append(time.perf_counter() - started)
        after = sampler.sample()
    return {
        "network_start_s": sum(per_node),
        "node_start_s_per_node": per_node,
        "startup_peak_rss_bytes_per_node": sampler.peak,
        "rss_after_start_bytes_per_node": after,
    }


def _listening_pid(url: str) -> int | None:
    """The local process listening on ``url``'s port, if the host is this machine."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    if port is None:
        return None
    try:
        local = host in ("localhost", "127.0.0.1", "::1") or host in {
            a.address for addrs in psutil.net_if_addrs().values() for a in addrs
        }
        if not local:
            local = socket.gethostbyname(host) in ("127.0.0.1",)
        if not local:
            return None
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                return int(conn.pid) if conn.pid is not None else None
    except (psutil.Error, OSError):
        return None
    return None


# ------------------------------------------------------------------ the run


@dataclass(frozen=True, slots=True)
class _KindPlan:
    """Accounts and signing of one workload kind."""

    kind: str
    weight: int
    issuer: Account
    senders: list[Account]

    @property
    def evm(self) -> bool:
        return self.kind == "erc20"


class _Run:
    """One load run against ``apis`` (node processes ``pids`` sampled when known)."""

    def __init__(
        self,
        config: LoadConfig,
        apis: list[str],
        pids: Sequence[int | None],
        client: httpx.AsyncClient,
    ) -> None:
        self.config = config
        self.apis = apis
        self.pids = pids
        self.client = client
        self.obs = Observations(warmup_s=config.warmup_s, schedule=config.schedule)
        self.senders: list[_Sender] = []
        self._position: dict[bytes, int] = {}
        self._posts: set[asyncio.Task[None]] = set()
        self._posting = 0
        self._post_no = 0

    # -- planning and setup

    async def _check_fillers(self) -> None:
        """Read the first, middle and last filler accounts from every node.

        Raises:
            BenchSetupFailed: a node does not hold one of them with the filler's key.
        """
        count = self.config.state_accounts
        key_type = KeyType(self.config.key_type)
        for index in sorted({0, count // 2, count - 1}):
            public = filler_key(key_type, index).public_key()
            want = [{"key_type": key_type.value, "public_key": "0x" + public.to_bytes().hex()}]
            for api in self.apis:
                url = f"{api}/v1/accounts/{public.address().hex()}"
                try:
                    response = await self.client.get(url, timeout=30)
                    response.raise_for_status()
                except httpx.HTTPError as exc:
                    raise BenchSetupFailed(f"reading filler account {index}: {exc}") from exc
                account = response.json()
                if not account["exists"] or account["keys"] != want:
                    raise BenchSetupFailed(f"{api} does not hold filler account {index}")

    def _plans(self, base: int) -> list[_KindPlan]:
        kinds = self.config.kinds
        total = sum(w for _, w in kinds)
        plans: list[_KindPlan] = []
        seed = base
        for n, (kind, weight) in enumerate(kinds):
            key_type = key_type_of(kind, self.config.key_type)
            share = self.config.senders * weight / total
            count = max(1, round(share)) if n < len(kinds) - 1 else 0
            if n == len(kinds) - 1:
                count = max(1, self.config.senders - sum(len(p.senders) for p in plans))
            issuer = Account(key_type, seed)
            senders = [Account(key_type, seed + 1 + i) for i in range(count)]
            seed += count + 1
            plans.append(_KindPlan(kind, weight, issuer, senders))
        return plans

    def _ids(self, kind: str, raws: list[bytes], chain_id: str, hash_name: str) -> list[bytes]:
        hash_fn = get_suite(hash_name).hash
        if kind == "erc20":
            chain = evm_chain_id(chain_id)
            return [tx_id(hash_fn, envelope(r, chain_id, chain).body) for r in raws]
        return [tx_id(hash_fn, decode(r, Transaction).body) for r in raws]

    async def _setup(self, plans: list[_KindPlan], chain_id: str, suite: str) -> None:
        """Create assets and the token, fund senders; every setup transaction must commit OK."""
        ids: list[bytes] = []
        for plan in plans:
            if plan.evm:
                raws = await asyncio.to_thread(
                    erc20.setup_transactions, plan.issuer, plan.senders, chain_id
                )
                post = _post_evm
            else:
                raws = setup_transactions(plan.kind, plan.issuer, plan.senders, chain_id, EXPIRY)
                post = _post_native
            for start in range(0, len(raws), SETUP_WAVE):
                wave = raws[start : start + SETUP_WAVE]
                for i in range(0, len(wave), self.config.batch):
                    chunk = wave[i : i + self.config.batch]
                    try:
                        codes = await post(self.client, self.apis[0], chunk)
                    except httpx.HTTPError as exc:
                        raise BenchSetupFailed(f"{plan.kind} setup: request failed: {exc}") from exc
                    refused = sorted({c for c in codes if c is not None})
                    if refused:
                        raise BenchSetupFailed(f"{plan.kind} setup refused: {', '.join(refused)}")
                wave_ids = await asyncio.to_thread(self._ids, plan.kind, wave, chain_id, suite)
                await self._await_commits(wave_ids)
                ids.extend(wave_ids)
        failed = sorted({self.obs.failed[i] for i in ids if i in self.obs.failed})
        if failed:
            hint = ""
            if any(p.evm for p in plans):
                hint = " (erc20 deploys a token: the chain must allow contract deployment)"
            raise BenchSetupFailed(f"setup transactions failed: {', '.join(failed)}{hint}")

    async def _await_commits(self, ids: list[bytes]) -> None:
        deadline = time.perf_counter() + SETUP_TIMEOUT_S
        while any(i not in self.obs.committed for i in ids):
            if time.perf_counter() > deadline:
                missing = sum(i not in self.obs.committed for i in ids)
                raise BenchSetupFailed(
                    f"{missing} setup transactions not committed in {SETUP_TIMEOUT_S:g} s"
                )
            await asyncio.sleep(0.05)

    def _presign_rate(self, limit: float) -> float:
        schedule = self.config.schedule
        if schedule is not None:
            return schedule.due(schedule.seconds) / schedule.seconds
        return min(limit, CLOSED_LOOP_PRESIGN_TPS)

    async def _sign(self, plans: list[_KindPlan], chain_id: str, suite: str, limit: float) -> None:
        rate = self._presign_rate(limit)
        seconds = self.config.load_seconds + (0 if self.config.schedule else 5)
        total_weight = sum(p.weight for p in plans)
        workers = max(1, os.cpu_count() or 1)
        for plan in plans:
            kind_rate = rate * plan.weight / total_weight
            if plan.evm and self.config.schedule is None:
                kind_rate = min(kind_rate, EVM_PRESIGN_TPS)
            slots = kind_rate * seconds * (1.0 if self.config.schedule else 1.2)
            per_sender = max(1, math.ceil(slots * 1.05 / len(plan.senders)) + 1)
            if plan.evm:
                runs = await asyncio.to_thread(
                    erc20.workload_transactions,
                    plan.issuer,
                    plan.senders,
                    per_sender,
                    chain_id,
                    workers,
                )
            else:
                runs = await asyncio.to_thread(
                    workload_transactions,
                    plan.senders,
                    per_sender,
                    chain_id,
                    plan.kind,
                    EXPIRY,
                    workers,
                )
            for run in runs:
                ids = await asyncio.to_thread(self._ids, plan.kind, run, chain_id, suite)
                index = len(self.senders)
                self.senders.append(_Sender(plan.kind, run, ids))
                self.obs.kind_of_sender.append(plan.kind)
                for position, identifier in enumerate(ids):
                    self.obs.owner[identifier] = index
                    self._position[identifier] = position
                self.obs.presigned += len(run)

    # -- sending

    def _in_flight(self) -> int:
        return len(self.obs.acked) - self.obs.acked_committed + self._posting

    def _send(self, picks: list[tuple[int, int]], slot: asyncio.Semaphore | None = None) -> None:
        """Post ``picks`` to the next node in turn, in the background (releasing ``slot`` after)."""
        node = self._post_no % len(self.apis)
        self._post_no += 1
        self._posting += len(picks)
        task = asyncio.create_task(self._post(picks, node))
        self._posts.add(task)
        task.add_done_callback(self._posts.discard)
        if slot is not None:
            task.add_done_callback(lambda _: slot.release())

    async def _post(self, picks: list[tuple[int, int]], node: int) -> None:
        api = self.apis[node]
        native = [(s, i) for s, i in picks if self.senders[s].kind != "erc20"]
        evm = [(s, i) for s, i in picks if self.senders[s].kind == "erc20"]
        sent_at = time.perf_counter()
        try:
            native_codes, evm_codes = await asyncio.gather(
                _post_guarded(
                    _post_native, self.client, api, [self.senders[s].raws[i] for s, i in native]
                ),
                _post_guarded(
                    _post_evm, self.client, api, [self.senders[s].raws[i] for s, i in evm]
                ),
            )
        finally:
            self._posting -= len(picks)
        answered = time.perf_counter()
        second = int(sent_at - self.obs.start)
        for (s, i), code in zip([*native, *evm], [*native_codes, *evm_codes], strict=True):
            sender = self.senders[s]
            self.obs.attempts[second, sender.kind] += 1
            identifier = sender.ids[i]
            if code is None or (code in ADMITTED_BEFORE and i in sender.uncertain):
                self.obs.acknowledge(identifier, sent_at, answered, node)
                continue
            self.obs.rejected[second, sender.kind, code] += 1
            if code == TRANSPORT_ERROR:
                sender.uncertain.add(i)
            if code in RETRYABLE:
                heapq.heappush(sender.retry, i)
            else:
                sender.retired = True

    async def _send_all(self, pool: _Pool) -> None:
        config = self.config
        schedule = config.schedule
        slots = 0
        per_node = 1 if schedule is None else OPEN_LOOP_REQUESTS_PER_NODE
        posts = asyncio.Semaphore(max(2, per_node * len(self.apis)))
        end = self.obs.start + config.load_seconds
        while (now := time.perf_counter()) < end and not pool.exhausted:
            if schedule is not None:
                want = min(config.batch, int(schedule.due(now - self.obs.start)) - slots)
            else:
                want = min(config.batch, config.window - self._in_flight())
            if want <= 0:
                await asyncio.sleep(TICK_S if schedule is not None else 0.005)
                continue
            await posts.acquire()
            picks = pool.take(want)
            slots += want
            if not picks:
                posts.release()
                break
            self._send(picks, posts)
        self.obs.exhausted = pool.exhausted

    async def _fill_gaps(self) -> None:
        """Resend refused transactions that later ones of their sender wait behind."""
        for _ in range(10):
            picks: list[tuple[int, int]] = []
            for s, sender in enumerate(self.senders):
                if sender.retired or not sender.retry:
                    continue
                top = max(
                    (i for i in range(sender.cursor) if sender.ids[i] in self.obs.acked),
                    default=-1,
                )
                behind = sorted(i for i in sender.retry if i < top)
                if behind:
                    sender.retry = [i for i in sender.retry if i >= top]
                    heapq.heapify(sender.retry)
                    picks.extend((s, i) for i in behind)
            if not picks:
                return
            for start in range(0, len(picks), self.config.batch):
                self._send(picks[start : start + self.config.batch])
            await self._wait_posts()
            await asyncio.sleep(0.5)

    async def _wait_posts(self) -> None:
        while self._posts:
            await asyncio.gather(*list(self._posts))

    async def _drain(self) -> None:
        deadline = self.obs.sent_until + self.config.drain_s
        progress, progress_at = -1, time.perf_counter()
        while (now := time.perf_counter()) < deadline:
            done = self.obs.acked_committed
            if done >= len(self.obs.acked):
                return
            if done != progress:
                progress, progress_at = done, now
            elif now - progress_at > STALL_S:
                return
            await asyncio.sleep(0.2)

    # -- the lost check

    async def _lookup(self, identifier: bytes, node: int, limit: asyncio.Semaphore) -> str:
        async with limit:
            try:
                response = await self.client.get(
                    f"{self.apis[node]}/v1/transactions/{identifier.hex()}", timeout=10
                )
            except httpx.HTTPError:
                return "unchecked"
        if response.status_code == 404:
            return "lost"
        if response.status_code != 200:
            return "unchecked"
        record = response.json()
        if record.get("status") == "committed":
            receipt = record.get("receipt") or {}
            self.obs.commit(identifier, time.perf_counter(), receipt.get("status"), estimated=True)
            return "committed_late"
        return "pending"

    async def _check_acknowledged(self) -> None:
        """Classify every acknowledged transaction that did not commit: behind a nonce the
        node never admitted, still pending, committed unseen, or lost."""
        gap_at: dict[int, int] = {}
        for s, sender in enumerate(self.senders):
            first = next(
                (i for i in range(sender.cursor) if sender.ids[i] not in self.obs.acked),
                sender.cursor,
            )
            gap_at[s] = first
        check = dict.fromkeys(("lost", "pending", "behind_gap", "committed_late", "unchecked"), 0)
        lookups = []
        limit = asyncio.Semaphore(CHECK_CONCURRENCY)
        for identifier, (_, _, node) in self.obs.acked.items():
            if identifier in self.obs.committed:
                continue
            s = self.obs.owner[identifier]
            if self._position[identifier] > gap_at[s]:
                check["behind_gap"] += 1
            else:
                lookups.append(self._lookup(identifier, node, limit))
        for outcome in await asyncio.gather(*lookups):
            check[outcome] += 1
        self.obs.check = check

    # -- the whole run

    async def run(self) -> dict[str, Any]:
        for api in self.apis:
            try:
                response = await self.client.get(f"{api}/v1/status", timeout=10)
                response.raise_for_status()
            except httpx.HTTPError as exc:
                raise BenchUnreachable(f"node {api} does not answer: {exc}") from exc
        status = (await self.client.get(f"{self.apis[0]}/v1/status", timeout=10)).json()
        chain_id, suite = status["chain_id"], status["suite"]
        if self.config.state_accounts:
            await self._check_fillers()
        plans = self._plans(int.from_bytes(os.urandom(4), "big") * 1_000_000)
        self.obs.kinds = {p.kind: key_type_of(p.kind, self.config.key_type).value for p in plans}
        listener = _Listener(self.apis[0], self.obs, self.client)
        ready = asyncio.Event()
        listening = asyncio.create_task(listener.run(int(status["height"]), ready))
        sampler = _Sampler(self.pids, self.obs)
        sampling: asyncio.Task[None] | None = None
        try:
            waiting = asyncio.create_task(ready.wait())
            await asyncio.wait({waiting, listening}, return_when=asyncio.FIRST_COMPLETED)
            if listening.done():
                waiting.cancel()
                listening.result()
            await self._setup(plans, chain_id, suite)
            verify_rates = {
                kt: await asyncio.to_thread(verify_rate, KeyType(kt))
                for kt in sorted(set(self.obs.kinds.values()))
            }
            total_weight = sum(p.weight for p in plans)
            per_tx = sum(
                p.weight / total_weight / verify_rates[self.obs.kinds[p.kind]] for p in plans
            )
            limit = 1 / per_tx / self.config.validators
            verify_cpu_us = 1e6 * per_tx * worker_count()  # one check, in CPU time
            await self._sign(plans, chain_id, suite, limit)
            pool = _Pool(self.senders, [(p.kind, p.weight) for p in plans])
            sampling = asyncio.create_task(sampler.run())
            self.obs.start = time.perf_counter()
            self.obs.load_s = self.config.load_seconds
            await self._send_all(pool)
            self.obs.sent_until = time.perf_counter()
            await self._wait_posts()
            await self._fill_gaps()
            await self._drain()
            await listener.flush()
            await self._check_acknowledged()
            self.obs.ended = time.perf_counter()
            sampler.sample()
        finally:
            for task in (listening, sampling):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        return summarise(
            self.obs, limit_tps=limit, verify_rates=verify_rates, verify_cpu_us=verify_cpu_us
        )


async def _drive(config: LoadConfig, apis: list[str], pids: Sequence[int | None]) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    async with httpx.AsyncClient(limits=limits) as client:
        return await _Run(config, apis, pids, client).run()


def run_load(config: LoadConfig, argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark (starting a local network unless ``config.nodes`` is given).

    The report adds, for a local network, the seconds spent deriving filler keys
    (``filler_keys_s``) and building the genesis with them (``genesis_build_s``),
    the seconds each node took to serve its API (``node_start_s_per_node``, their
    sum ``network_start_s``), and each node's peak RSS while the network started
    and its RSS once all had (``startup_peak_rss_bytes_per_node``,
    ``rss_after_start_bytes_per_node``); they are None for ``--nodes``.

    Raises:
        BenchUnreachable: a node does not answer.
        BenchSetupFailed: the workload's setup was refused, failed or did not commit,
            or a node does not hold the filler accounts.
        ConfigError: a local node exited or did not serve its API in time.
    """
    command = list(sys.argv if argv is None else argv)
    machine = describe_machine()
    local: dict[str, Any] = dict.fromkeys(
        (
            "filler_keys_s",
            "genesis_build_s",
            "network_start_s",
            "node_start_s_per_node",
            "startup_peak_rss_bytes_per_node",
            "rss_after_start_bytes_per_node",
        )
    )
    if config.nodes:
        apis = list(config.nodes)
        pids = [_listening_pid(u) for u in apis]
        result = asyncio.run(_drive(config, apis, pids))
    else:
        open_policy = ChainPolicy(contract_deployment="open")
        evm = any(k == "erc20" for k, _ in config.kinds)
        with tempfile.TemporaryDirectory(prefix="consortia-bench-") as tmp:
            root = Path(tmp) / "net"
            started = time.perf_counter()
            fillers = filler_accounts(KeyType(config.key_type), config.state_accounts)
            local["filler_keys_s"] = time.perf_counter() - started
            init_network(
                root,
                validators=config.validators,
                orgs=config.validators,
                suite=config.suite,
                base_api_port=config.api_port,
                base_p2p_port=config.api_port + 1000,
                # ERC-20 kinds deploy their own token: an open deployment policy.
                policy=open_policy if evm else None,
                accounts=fillers,
            )
            del fillers
            local["genesis_build_s"] = time.perf_counter() - started
            network = NodeProcesses(root)
            try:
                local |= _start_network(network, config.state_accounts)
                apis = [e.api for e in network.entries]
                pids = [network.pid(e.name) for e in network.entries]
                result = asyncio.run(_drive(config, apis, pids))
            finally:
                network.stop_all()
    settings = asdict(config)
    settings["kinds"] = [list(k) for k in config.kinds]
    return {
        "command": shlex.join(command),
        "argv": command,
        "config": settings,
        "machine": machine,
        **local,
        **result,
    }


__all__ = ["RETRYABLE", "LoadConfig", "key_type_of", "run_load"]
