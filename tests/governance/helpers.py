"""A governed test chain: three governors (weights 1, 1, 2), org1 with one admin, alice and bob.

::

    committee: g1 (1)  g2 (1)  g3 (2)      total 4; default thresholds 2/3 and 2/3
    org1: admin a1 (org_admin)             member accounts registered by a1
    alice, bob: ordinary accounts (no roles)
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from tests.execution.chain import Chain, address, genesis_for, key, make_tx
from tests.support.node import InProcessNode
from typer.testing import CliRunner

from consortia.cli.main import app as cli_app
from consortia.codec import encode
from consortia.crypto import KeyType, PrivateKey
from consortia.execution.executor import TxOutcome
from consortia.execution.policy import ChainPolicy
from consortia.modules.governance.state import load_member, load_proposal
from consortia.modules.governance.types import (
    CastVote,
    Charter,
    Choice,
    Governor,
    Member,
    Organisation,
    Proposal,
    ProposalKind,
    Propose,
)

G1, G2, G3 = (key(KeyType.SM2, 100 + i) for i in range(3))
ADMIN = key(KeyType.SM2, 200)
ALICE, BOB = key(KeyType.SM2, 1), key(KeyType.SM2, 2)
DEADLINE = 50


def charter() -> Charter:
    return Charter(
        organisations=(Organisation(name="org1", admins=(address(ADMIN),)),),
        governors=tuple(
            Governor(address=address(k), weight=w) for k, w in ((G1, 1), (G2, 1), (G3, 2))
        ),
    )


def open_chain(
    path: Path, policy: ChainPolicy | None = None, extra: Sequence[PrivateKey] = ()
) -> Chain:
    """The governed chain (``policy``: default ChainPolicy; ``extra``: more accounts)."""
    base = genesis_for([G1, G2, G3, ADMIN, ALICE, BOB, *extra], policy=policy)
    return Chain.open(path, msgspec.structs.replace(base, governance=charter()))


@dataclass
class Gov:
    """A chain plus per-signer nonces, with helpers for proposals and votes."""

    chain: Chain
    nonces: dict[bytes, int] = field(default_factory=dict)

    def send(self, signer: PrivateKey, module: str, method: str, args: Any) -> TxOutcome:
        """Execute one transaction with the signer's next nonce (re-read from state)."""
        nonce = self.chain.nonce(address(signer))
        return self.chain.run(make_tx(signer, nonce, module, method, args))

    def propose(
        self, signer: PrivateKey, kind: ProposalKind, payload: Any, deadline: int = DEADLINE
    ) -> TxOutcome:
        args = Propose(kind=kind, payload=encode(payload), deadline_height=deadline)
        return self.send(signer, "governance", "propose", args)

    def vote(self, signer: PrivateKey, proposal_id: int, choice: Choice = Choice.YES) -> TxOutcome:
        return self.send(signer, "governance", "vote", CastVote(proposal_id, choice))

    def proposal(self, proposal_id: int) -> Proposal:
        return self.chain.read(lambda v: load_proposal(v, proposal_id))

    def member(self, who: bytes) -> Member:
        return self.chain.read(lambda v: load_member(v, who))

    def pass_(self, kind: ProposalKind, payload: Any) -> Proposal:
        """Propose with G1, vote yes with G1 and G3 (3 of 4): executes or fails."""
        out = self.propose(G1, kind, payload)
        assert out.receipt.status == "OK", out.receipt.message
        pid = int(dict(out.receipt.events[-1].attributes)["id"])
        assert self.vote(G1, pid).receipt.status == "OK"
        last = self.vote(G3, pid)
        assert last.receipt.status == "OK", last.receipt.message
        return self.proposal(pid)


def gov_chain(path: Path) -> Iterator[Gov]:
    chain = open_chain(path)
    yield Gov(chain)
    chain.close()


def run_cli(live: InProcessNode, *args: str, code: int = 0) -> Any:
    """Run ``consortia ARGS --home <live> --json``; check its exit code; its JSON output."""
    result = CliRunner().invoke(cli_app, [*args, "--home", str(live.root), "--json"])
    assert result.exit_code == code, (result.stdout, result.stderr)
    return json.loads(result.stdout)
