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

This module drives the run (presigning, sending, draining, the lost check)
and assembles the report. Its parts live beside it: ``load_config``
(:class:`LoadConfig`), ``senders`` (who sends next), ``submit`` (posting to a
node), ``funding`` (accounts and setup), ``commit_listener`` (commit times),
``sampling`` (CPU and RSS), ``local_network`` (the network it starts).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import math
import os
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, Final

import httpx

from consortia.bench import erc20
from consortia.bench.commit_listener import CommitListener
from consortia.bench.errors import BenchUnreachable
from consortia.bench.funding import EXPIRY, KindPlan, check_fillers, fund, plan_kinds, tx_ids
from consortia.bench.limit import verify_rate
from consortia.bench.load_config import LoadConfig, key_type_of
from consortia.bench.local_network import LOCAL_FIGURES, local_network
from consortia.bench.machine import describe_machine
from consortia.bench.report import Observations, summarise
from consortia.bench.sampling import ResourceSampler, listening_pid
from consortia.bench.senders import Sender, SendPool
from consortia.bench.submit import (
    ADMITTED_BEFORE,
    RETRYABLE,
    TRANSPORT_ERROR,
    post_evm,
    post_guarded,
    post_native,
)
from consortia.bench.workload import workload_transactions
from consortia.crypto import KeyType
from consortia.crypto.batch import worker_count

__all__ = ["run_load"]

TICK_S: Final = 0.02
"""Open loop: how often due transactions are sent."""
OPEN_LOOP_REQUESTS_PER_NODE: Final = 8
"""Open loop: most requests in flight per node, so an overloaded node sees the offered
load arrive (as from many clients) rather than one slow request at a time."""
STALL_S: Final = 15.0
"""Stop waiting for commits after this long without one."""
CLOSED_LOOP_PRESIGN_TPS: Final = 20_000.0
"""Closed loop: sign for at most this rate (or the machine limit, if lower)."""
EVM_PRESIGN_TPS: Final = 1_500.0
"""Closed loop: sign ERC-20 transfers for at most this rate (EVM execution is ~1,000/s a core)."""
CHECK_CONCURRENCY: Final = 16
"""Concurrent look-ups when checking acknowledged transactions that did not commit."""


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
        self.senders: list[Sender] = []
        self._position: dict[bytes, int] = {}
        self._posts: set[asyncio.Task[None]] = set()
        self._posting = 0
        self._post_no = 0

    # -- signing

    def _presign_rate(self, limit: float) -> float:
        schedule = self.config.schedule
        if schedule is not None:
            return schedule.due(schedule.seconds) / schedule.seconds
        return min(limit, CLOSED_LOOP_PRESIGN_TPS)

    async def _sign(self, plans: list[KindPlan], chain_id: str, suite: str, limit: float) -> None:
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
                ids = await asyncio.to_thread(tx_ids, plan.kind, run, chain_id, suite)
                index = len(self.senders)
                self.senders.append(Sender(plan.kind, run, ids))
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
                post_guarded(
                    post_native, self.client, api, [self.senders[s].raws[i] for s, i in native]
                ),
                post_guarded(post_evm, self.client, api, [self.senders[s].raws[i] for s, i in evm]),
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

    async def _send_all(self, pool: SendPool) -> None:
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
            await check_fillers(self.client, self.apis, self.config)
        plans = plan_kinds(self.config, int.from_bytes(os.urandom(4), "big") * 1_000_000)
        self.obs.kinds = {p.kind: key_type_of(p.kind, self.config.key_type).value for p in plans}
        listener = CommitListener(self.apis[0], self.obs, self.client)
        ready = asyncio.Event()
        listening = asyncio.create_task(listener.run(int(status["height"]), ready))
        sampler = ResourceSampler(self.pids, self.obs)
        sampling: asyncio.Task[None] | None = None
        try:
            waiting = asyncio.create_task(ready.wait())
            await asyncio.wait({waiting, listening}, return_when=asyncio.FIRST_COMPLETED)
            if listening.done():
                waiting.cancel()
                listening.result()
            await fund(
                self.client, self.apis[0], plans, chain_id, suite, self.config.batch, self.obs
            )
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
            pool = SendPool(self.senders, [(p.kind, p.weight) for p in plans])
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
    local: dict[str, Any] = dict.fromkeys(LOCAL_FIGURES)
    if config.nodes:
        apis = list(config.nodes)
        pids = [listening_pid(u) for u in apis]
        result = asyncio.run(_drive(config, apis, pids))
    else:
        with local_network(config, local) as network:
            apis = [e.api for e in network.entries]
            pids = [network.pid(e.name) for e in network.entries]
            result = asyncio.run(_drive(config, apis, pids))
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
