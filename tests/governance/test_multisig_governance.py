"""Governance keeps a multisig account's weights and threshold ([ACCT-MULTISIG.2]).

Freezing and unfreezing rewrite the account record, and an org admin's
``revoke_key`` removes a key: each once built a fresh ``Account(nonce, keys,
frozen)``, which would have turned a 2-of-3 into "any one key signs". They
keep weights and threshold, and a revocation that would leave the threshold
unreachable is refused.
"""

from __future__ import annotations

from tests.execution.chain import address, key, make_tx

from consortia.crypto import KeyType, PrivateKey
from consortia.ledger.types import multisig_transaction
from consortia.modules.accounts.types import AccountKey, SetMultisig, WeightedKey
from consortia.modules.governance.types import (
    AccountTarget,
    ProposalKind,
    RegisterAccount,
    RevokeKey,
    Status,
)
from consortia.sdk import Signer

from .helpers import ADMIN, Gov

OWNER = key(KeyType.SM2, 600)
OFFICER_1, OFFICER_2 = key(KeyType.P256, 601), key(KeyType.SM2, 602)


def akey(k: PrivateKey) -> AccountKey:
    return AccountKey(key_type=k.key_type.value, public_key=k.public_key().to_bytes())


def _two_of_three(gov: Gov) -> bytes:
    who = address(OWNER)
    register = RegisterAccount(who, (akey(OWNER),))
    assert gov.send(ADMIN, "governance", "register_account", register).receipt.status == "OK"
    policy = SetMultisig(
        keys=tuple(WeightedKey(akey(k), 1) for k in (OWNER, OFFICER_1, OFFICER_2)), threshold=2
    )
    assert gov.send(OWNER, "accounts", "set_multisig", policy).receipt.status == "OK"
    return who


def _send_both(gov: Gov, who: bytes, signers: list[PrivateKey]) -> str:
    """A set_multisig no-op of the current set, signed by ``signers``: its status."""
    account = gov.chain.account(who)
    assert account is not None
    same = SetMultisig(
        keys=tuple(WeightedKey(k, account.weight_of(i)) for i, k in enumerate(account.keys)),
        threshold=account.threshold,
    )
    body = make_tx(signers[0], account.nonce, "accounts", "set_multisig", same, sender=who).body
    parts = [Signer(k).sign_part(body) for k in signers]
    return gov.chain.run(multisig_transaction(body, parts)).receipt.status


def test_freeze_and_unfreeze_keep_the_threshold(gov: Gov) -> None:
    who = _two_of_three(gov)
    assert gov.pass_(ProposalKind.FREEZE_ACCOUNT, AccountTarget(who)).status == Status.EXECUTED
    assert _send_both(gov, who, [OWNER, OFFICER_1]) == "TX_ACCOUNT_FROZEN"
    assert gov.pass_(ProposalKind.UNFREEZE_ACCOUNT, AccountTarget(who)).status == Status.EXECUTED
    account = gov.chain.account(who)
    assert account is not None and (account.weights, account.threshold) == ((1, 1, 1), 2)
    assert _send_both(gov, who, [OWNER]) == "TX_BELOW_THRESHOLD"
    assert _send_both(gov, who, [OWNER, OFFICER_2]) == "OK"


def test_revoke_key_keeps_weights_and_never_makes_the_threshold_unreachable(gov: Gov) -> None:
    who = _two_of_three(gov)
    revoke_2 = RevokeKey(who, OFFICER_2.public_key().to_bytes())
    assert gov.send(ADMIN, "governance", "revoke_key", revoke_2).receipt.status == "OK"
    account = gov.chain.account(who)
    assert account is not None
    assert (account.keys, account.weights, account.threshold) == (
        (akey(OWNER), akey(OFFICER_1)),
        (1, 1),
        2,
    )
    assert _send_both(gov, who, [OFFICER_1]) == "TX_BELOW_THRESHOLD"
    revoke_1 = RevokeKey(who, OFFICER_1.public_key().to_bytes())
    refused = gov.send(ADMIN, "governance", "revoke_key", revoke_1)
    assert refused.receipt.status == "ACCOUNTS_THRESHOLD_UNREACHABLE"
    assert _send_both(gov, who, [OWNER, OFFICER_1]) == "OK"
