"""Multisig transactions in the SDK: prepare once, collect signatures offline, submit.

A multisig account ([ACCT-MULTISIG.1], docs/multisig.md) authorises a
transaction when distinct keys of its set, whose weights add up to the
threshold, sign the same body. Signers need not be online together:

1. one party prepares the body (the node gives the sender's nonce and height)
   as a :class:`PendingMultisig` and passes its bytes (``to_hex``) around;
2. each signer loads it, checks what it signs (``body``, ``tx_id``) and adds
   a signature (``with_signature``), offline;
3. anyone submits ``pending.transaction()``.

The signatures cover the body alone, so they can be gathered in any order and
the transaction id is known from step 1.
"""

from __future__ import annotations

from collections.abc import Sequence

from consortia.api import schemas as s
from consortia.codec import Canonical, decode, encode
from consortia.crypto.suite import get_suite
from consortia.ledger.types import (
    STATUS_OK,
    Transaction,
    TxBody,
    TxSignature,
    multisig_transaction,
    tx_id,
)
from consortia.modules.accounts.types import AccountKey, SetMultisig, WeightedKey
from consortia.sdk import _calls as calls
from consortia.sdk._calls import Flow
from consortia.sdk.errors import TransactionFailed, TransactionTimeout
from consortia.sdk.signer import Signer

__all__ = ["PendingMultisig", "prepare_flow", "send_flow", "set_multisig_args", "sign_all"]


class PendingMultisig(Canonical, frozen=True):
    """A transaction body and the signatures collected for it so far."""

    body: TxBody
    signatures: tuple[TxSignature, ...] = ()
    """One entry per signer, in the order they signed."""

    def with_signature(self, signer: Signer) -> PendingMultisig:
        """This pending transaction with ``signer``'s signature added.

        Raises:
            ValueError: ``signer``'s key has signed it already.
        """
        if any(e.public_key == signer.public_key for e in self.signatures):
            raise ValueError(f"{signer!r} has signed this transaction already")
        return PendingMultisig(self.body, (*self.signatures, signer.sign_part(self.body)))

    def transaction(self) -> Transaction:
        """The signed transaction (single-signature form if only one key signed).

        Raises:
            ValueError: no signature yet.
        """
        if not self.signatures:
            raise ValueError("no signature collected yet")
        return multisig_transaction(self.body, self.signatures)

    def tx_id(self, suite: str) -> bytes:
        """The transaction's id on a chain of ``suite`` (``sm`` or ``intl``)."""
        return tx_id(get_suite(suite).hash, self.body)

    def to_hex(self) -> str:
        """Canonical bytes as hex: what signers pass to each other."""
        return encode(self).hex()

    @classmethod
    def from_hex(cls, text: str) -> PendingMultisig:
        """Read :meth:`to_hex`'s output (raises CodecError or ValueError if it is not one)."""
        return decode(bytes.fromhex(text.strip().removeprefix("0x")), cls)


def prepare_flow(
    sender: bytes,
    module: str,
    method: str,
    args: Canonical | bytes,
    *,
    gas_limit: int = calls.DEFAULT_GAS_LIMIT,
    expiry_blocks: int = calls.DEFAULT_EXPIRY_BLOCKS,
    nonce: int | None = None,
) -> Flow[PendingMultisig]:
    """Build the unsigned body of ``module.method(args)`` from ``sender`` with the node's
    chain id and height and the sender's next nonce (unless ``nonce`` is given)."""
    node: s.StatusJson = yield calls.status()
    if nonce is None:
        found: s.AccountJson = yield calls.account(sender)
        nonce = found.nonce
    body = TxBody(
        chain_id=node.chain_id,
        sender=sender,
        nonce=nonce,
        module=module,
        method=method,
        args=args if isinstance(args, bytes) else encode(args),
        gas_limit=gas_limit,
        expiry_height=node.height + expiry_blocks,
    )
    return PendingMultisig(body)


def set_multisig_args(keys: Sequence[tuple[str, bytes, int]], threshold: int) -> SetMultisig:
    """``accounts.set_multisig`` arguments from ``(key_type, public_key, weight)`` triples."""
    return SetMultisig(
        keys=tuple(
            WeightedKey(key=AccountKey(key_type=t, public_key=k), weight=w) for t, k, w in keys
        ),
        threshold=threshold,
    )


def sign_all(pending: PendingMultisig, signers: Sequence[Signer]) -> PendingMultisig:
    """``pending`` with every one of ``signers``' signatures added, in order."""
    for signer in signers:
        pending = pending.with_signature(signer)
    return pending


def send_flow(
    signers: Sequence[Signer],
    sender: bytes,
    module: str,
    method: str,
    args: Canonical,
    *,
    wait: float | None,
    gas_limit: int,
    expiry_blocks: int,
    check: bool,
) -> Flow[s.TransactionJson]:
    """Prepare, sign with every one of ``signers`` at once, submit, wait for the commit."""
    pending = yield from prepare_flow(
        sender, module, method, args, gas_limit=gas_limit, expiry_blocks=expiry_blocks
    )
    record: s.TransactionJson = yield calls.submit(sign_all(pending, signers).transaction(), wait)
    if wait and record.status != "committed":
        raise TransactionTimeout(record.tx_id, wait)
    if check and record.receipt is not None and record.receipt.status != STATUS_OK:
        raise TransactionFailed(record)
    return record
