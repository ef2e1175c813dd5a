"""The erc20 load workload's transactions are valid on a chain: the token deploys at the
address the workload computed, senders are funded, and their transfers succeed."""

from __future__ import annotations

from pathlib import Path

from tests.execution.chain import CHAIN_ID, Chain, genesis_for

from consortia.bench import erc20
from consortia.bench.workload import Account
from consortia.crypto import KeyType
from consortia.evm.context import evm_chain_id
from consortia.evm.ethtx import envelope
from consortia.execution.policy import ChainPolicy


def test_workload_transactions_execute(tmp_path: Path) -> None:
    issuer = Account(KeyType.SECP256K1, 70)
    senders = [Account(KeyType.SECP256K1, 71 + i) for i in range(3)]
    chain = Chain.open(tmp_path, genesis_for([], policy=ChainPolicy(contract_deployment="open")))
    try:
        chain_no = evm_chain_id(CHAIN_ID)
        setup = erc20.setup_transactions(issuer, senders, CHAIN_ID)
        outcomes = chain.execute([envelope(r, CHAIN_ID, chain_no) for r in setup])
        assert [o.receipt.status for o in outcomes] == ["OK"] * 4
        created = dict(
            next(e for e in outcomes[0].receipt.events if e.name == "contract_created").attributes
        )
        assert bytes.fromhex(created["address"]) == erc20.contract_address(issuer)
        runs = erc20.workload_transactions(issuer, senders, 2, CHAIN_ID, workers=1)
        transfers = [envelope(r, CHAIN_ID, chain_no) for run in runs for r in run]
        assert [o.receipt.status for o in chain.execute(transfers)] == ["OK"] * 6
    finally:
        chain.close()
