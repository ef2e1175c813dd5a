"""Model-based test of account keys: who may sign, against a set of points.

One account (a genesis account of OWNER) and four keys of all three types,
each usable in both SEC1 encodings. Every rule sends one transaction, signed
by a drawn key in a drawn encoding, and predicts its status from the model:
the set of registered keys ([ACCT-AUTH.1], [ACCT-KEY.1]). Invariants after
every step: the stored keys are the model's points, 1 to MAX_KEYS of them,
no point twice, and the nonce counts exactly the authorised transactions.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import msgspec
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from consortia.crypto import KeyType, PrivateKey, PublicKey
from consortia.modules.accounts.types import MAX_KEYS, AccountKey, AddKey, RemoveKey
from execution.chain import Chain, address, genesis_for, key, make_tx

KEYS: tuple[PrivateKey, ...] = (
    key(KeyType.SM2, 61),  # OWNER: the genesis key
    key(KeyType.P256, 62),
    key(KeyType.SECP256K1, 63),
    key(KeyType.SM2, 64),
)
OWNER = address(KEYS[0])
which = st.integers(0, len(KEYS) - 1)
compressed_form = st.booleans()


def encoding(k: PrivateKey, compressed: bool) -> bytes:
    point = k.public_key().to_bytes()
    return bytes([2 + (point[-1] & 1)]) + point[1:33] if compressed else point


def point(account_key: AccountKey) -> bytes:
    return PublicKey.from_bytes(KeyType(account_key.key_type), account_key.public_key).to_bytes()


class AccountKeysMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._tmp = tempfile.TemporaryDirectory()
        self.chain = Chain.open(Path(self._tmp.name) / "db", genesis_for(accounts=[KEYS[0]]))
        self.registered = {0}
        self.nonce = 0

    def teardown(self) -> None:
        self.chain.close()
        self._tmp.cleanup()

    def send(self, signer: int, compressed: bool, method: str, args: object, ok: str) -> None:
        tx = make_tx(KEYS[signer], self.nonce, "accounts", method, args, sender=OWNER)
        tx = msgspec.structs.replace(tx, public_key=encoding(KEYS[signer], compressed))
        expected = ok if signer in self.registered else "TX_UNAUTHORIZED"
        status = self.chain.run(tx).receipt.status
        assert status == expected, f"{method} signed by key {signer}: {status}, model {expected}"
        if expected != "TX_UNAUTHORIZED":
            self.nonce += 1

    @rule(signer=which, signer_c=compressed_form, subject=which, subject_c=compressed_form)
    def add_key(self, signer: int, signer_c: bool, subject: int, subject_c: bool) -> None:
        k = KEYS[subject]
        args = AddKey(AccountKey(key_type=k.key_type.value, public_key=encoding(k, subject_c)))
        expected = "ACCOUNTS_KEY_EXISTS" if subject in self.registered else "OK"
        authorised = signer in self.registered
        self.send(signer, signer_c, "add_key", args, expected)
        if authorised and expected == "OK":
            self.registered.add(subject)

    @rule(signer=which, signer_c=compressed_form, subject=which, subject_c=compressed_form)
    def remove_key(self, signer: int, signer_c: bool, subject: int, subject_c: bool) -> None:
        args = RemoveKey(encoding(KEYS[subject], subject_c))
        if subject not in self.registered:
            expected = "ACCOUNTS_KEY_NOT_FOUND"
        elif len(self.registered) == 1:
            expected = "ACCOUNTS_LAST_KEY"
        else:
            expected = "OK"
        authorised = signer in self.registered
        self.send(signer, signer_c, "remove_key", args, expected)
        if authorised and expected == "OK":
            self.registered.discard(subject)

    @invariant()
    def stored_keys_are_the_models_points(self) -> None:
        account = self.chain.account(OWNER)
        assert account is not None
        points = [point(k) for k in account.keys]
        assert 1 <= len(points) <= MAX_KEYS
        assert len(points) == len(set(points))
        assert set(points) == {KEYS[i].public_key().to_bytes() for i in self.registered}
        assert account.nonce == self.nonce


AccountKeysMachine.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestAccountKeysMachine = AccountKeysMachine.TestCase
