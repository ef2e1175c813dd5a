"""Accounts and setup of a load run: who sends each kind, and the transactions that fund them.

Each kind has an issuer and its share of the senders (:func:`plan_kinds`).
Setup (:func:`fund`) creates the benchmark asset or deploys the benchmark
token and funds every sender, in waves of :data:`SETUP_WAVE`; every setup
transaction must commit OK before the load starts. With filler accounts in
the genesis, :func:`check_fillers` reads a few back from every node first.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Final

import httpx

from consortia.bench import erc20
from consortia.bench.errors import BenchSetupFailed
from consortia.bench.filler import filler_key
from consortia.bench.load_config import LoadConfig, key_type_of
from consortia.bench.report import Observations
from consortia.bench.submit import post_evm, post_native
from consortia.bench.workload import Account, setup_transactions
from consortia.codec import decode
from consortia.crypto import KeyType, get_suite
from consortia.evm.context import evm_chain_id
from consortia.evm.ethtx import envelope
from consortia.ledger.types import Transaction, tx_id

__all__ = ["EXPIRY", "KindPlan", "check_fillers", "fund", "plan_kinds", "tx_ids"]

EXPIRY: Final = 90_000
"""Expiry height of benchmark transactions: within policy's max_expiry_blocks of a young chain."""
SETUP_TIMEOUT_S: Final = 120.0
"""How long setup transactions may take to commit."""
SETUP_WAVE: Final = 1_000
"""Setup transactions posted before waiting for them to commit: one issuer funds every
sender, and a node holds at most 1,024 pending transactions of one sender."""


@dataclass(frozen=True, slots=True)
class KindPlan:
    """Accounts and signing of one workload kind."""

    kind: str
    weight: int
    issuer: Account
    senders: list[Account]

    @property
    def evm(self) -> bool:
        """True for Ethereum-signed ERC-20 transfers (sent over JSON-RPC)."""
        return self.kind == "erc20"


def plan_kinds(config: LoadConfig, base: int) -> list[KindPlan]:
    """Each kind's issuer and senders, their keys derived from seeds counted up from ``base``."""
    kinds = config.kinds
    total = sum(w for _, w in kinds)
    plans: list[KindPlan] = []
    seed = base
    for n, (kind, weight) in enumerate(kinds):
        key_type = key_type_of(kind, config.key_type)
        share = config.senders * weight / total
        count = max(1, round(share)) if n < len(kinds) - 1 else 0
        if n == len(kinds) - 1:
            count = max(1, config.senders - sum(len(p.senders) for p in plans))
        issuer = Account(key_type, seed)
        senders = [Account(key_type, seed + 1 + i) for i in range(count)]
        seed += count + 1
        plans.append(KindPlan(kind, weight, issuer, senders))
    return plans


def tx_ids(kind: str, raws: list[bytes], chain_id: str, hash_name: str) -> list[bytes]:
    """The transaction ids (under the chain suite's hash) of a kind's signed transactions."""
    hash_fn = get_suite(hash_name).hash
    if kind == "erc20":
        chain = evm_chain_id(chain_id)
        return [tx_id(hash_fn, envelope(r, chain_id, chain).body) for r in raws]
    return [tx_id(hash_fn, decode(r, Transaction).body) for r in raws]


async def check_fillers(client: httpx.AsyncClient, apis: list[str], config: LoadConfig) -> None:
    """Read the first, middle and last filler accounts from every node.

    Raises:
        BenchSetupFailed: a node does not hold one of them with the filler's key.
    """
    count = config.state_accounts
    key_type = KeyType(config.key_type)
    for index in sorted({0, count // 2, count - 1}):
        public = filler_key(key_type, index).public_key()
        want = [(key_type.value, "0x" + public.to_bytes().hex())]
        for api in apis:
            url = f"{api}/v1/accounts/{public.address().hex()}"
            try:
                response = await client.get(url, timeout=30)
                response.raise_for_status()
            except httpx.HTTPError as exc:
                raise BenchSetupFailed(f"reading filler account {index}: {exc}") from exc
            account = response.json()
            keys = [(k["key_type"], k["public_key"]) for k in account["keys"]]
            if not account["exists"] or keys != want:
                raise BenchSetupFailed(f"{api} does not hold filler account {index}")


async def fund(
    client: httpx.AsyncClient,
    api: str,
    plans: list[KindPlan],
    chain_id: str,
    suite: str,
    batch: int,
    obs: Observations,
) -> None:
    """Create assets and the token, fund senders; every setup transaction must commit OK.

    Posts to ``api`` in requests of at most ``batch``; commits are read from
    ``obs`` (the run's listener fills it).

    Raises:
        BenchSetupFailed: a setup request failed or was refused, a setup
            transaction failed, or did not commit in time.
    """
    ids: list[bytes] = []
    for plan in plans:
        if plan.evm:
            raws = await asyncio.to_thread(
                erc20.setup_transactions, plan.issuer, plan.senders, chain_id
            )
            post = post_evm
        else:
            raws = setup_transactions(plan.kind, plan.issuer, plan.senders, chain_id, EXPIRY)
            post = post_native
        for start in range(0, len(raws), SETUP_WAVE):
            wave = raws[start : start + SETUP_WAVE]
            for i in range(0, len(wave), batch):
                chunk = wave[i : i + batch]
                try:
                    codes = await post(client, api, chunk)
                except httpx.HTTPError as exc:
                    raise BenchSetupFailed(f"{plan.kind} setup: request failed: {exc}") from exc
                refused = sorted({c for c in codes if c is not None})
                if refused:
                    raise BenchSetupFailed(f"{plan.kind} setup refused: {', '.join(refused)}")
            wave_ids = await asyncio.to_thread(tx_ids, plan.kind, wave, chain_id, suite)
            await _await_commits(obs, wave_ids)
            ids.extend(wave_ids)
    failed = sorted({obs.failed[i] for i in ids if i in obs.failed})
    if failed:
        hint = ""
        if any(p.evm for p in plans):
            hint = " (erc20 deploys a token: the chain must allow contract deployment)"
        raise BenchSetupFailed(f"setup transactions failed: {', '.join(failed)}{hint}")


async def _await_commits(obs: Observations, ids: list[bytes]) -> None:
    deadline = time.perf_counter() + SETUP_TIMEOUT_S
    while any(i not in obs.committed for i in ids):
        if time.perf_counter() > deadline:
            missing = sum(i not in obs.committed for i in ids)
            raise BenchSetupFailed(
                f"{missing} setup transactions not committed in {SETUP_TIMEOUT_S:g} s"
            )
        await asyncio.sleep(0.05)
