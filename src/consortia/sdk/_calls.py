"""The SDK's sans-I/O layer: requests as data, responses parsed once for both clients.

Each API operation is a :class:`Call` (method, path, body, how to read the
answer). Multi-step operations (``send``: nonce, status, sign, submit) are
generators that yield calls and receive their results, so the sync and the
async client drive the very same logic with their own transport.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar

import msgspec

from consortia.api import schemas as s
from consortia.api.jsonable import parse_hex
from consortia.codec import Canonical, encode
from consortia.ledger.types import STATUS_OK, Transaction, TxBody
from consortia.sdk.errors import ApiError, TransactionFailed, TransactionTimeout
from consortia.sdk.signer import Signer

T = TypeVar("T")

MAX_WAIT_S: Final = 60.0
"""Longest ``wait`` the node accepts on submission."""
DEFAULT_GAS_LIMIT: Final = 200_000
DEFAULT_EXPIRY_BLOCKS: Final = 1_000

Bytesish = bytes | str
"""Bytes, or hex with or without ``0x``."""


def as_bytes(value: Bytesish) -> bytes:
    """Bytes of ``value`` (hex strings decoded)."""
    return value if isinstance(value, bytes) else parse_hex(value)


def as_hex(value: Bytesish) -> str:
    """``0x`` hex of ``value``."""
    return "0x" + as_bytes(value).hex()


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One HTTP request and how to read its successful answer."""

    method: str
    path: str
    parse: Callable[[int, bytes], T]
    params: dict[str, Any] = field(default_factory=dict)
    body: bytes | None = None
    extra_timeout_s: float = 0.0
    """Added to the client's timeout (the server may hold the request this long)."""


def raise_for_error(status: int, content: bytes) -> None:
    """Raise :class:`ApiError` for an error answer (any status >= 400)."""
    if status < 400:
        return
    try:
        detail = msgspec.json.decode(content, type=s.ErrorResponse).error
    except msgspec.MsgspecError:
        text = content[:200].decode("utf-8", "replace")
        raise ApiError(f"HTTP_{status}", f"HTTP {status}: {text}", status) from None
    raise ApiError(detail.code, detail.message, status)


def _reader(type_: type[T]) -> Callable[[int, bytes], T]:
    def parse(status: int, content: bytes) -> T:
        raise_for_error(status, content)
        return msgspec.json.decode(content, type=type_)

    return parse


def _tx_bytes(tx: Transaction | bytes) -> str:
    return (encode(tx) if isinstance(tx, Transaction) else tx).hex()


# ------------------------------------------------------------- single calls


def status() -> Call[s.StatusJson]:
    return Call("GET", "/v1/status", _reader(s.StatusJson))


def submit(tx: Transaction | bytes, wait: float | None) -> Call[s.TransactionJson]:
    params: dict[str, Any] = {}
    if wait:
        if not 0 <= wait <= MAX_WAIT_S:
            raise ValueError(f"wait must be between 0 and {MAX_WAIT_S:g} seconds")
        params["wait"] = wait
    body = msgspec.json.encode(s.SubmitRequest(tx=_tx_bytes(tx)))
    return Call(
        "POST",
        "/v1/transactions",
        _reader(s.TransactionJson),
        params=params,
        body=body,
        extra_timeout_s=wait or 0.0,
    )


def submit_batch(txs: Sequence[Transaction | bytes]) -> Call[list[s.BatchItem]]:
    body = msgspec.json.encode(s.BatchRequest(txs=[_tx_bytes(tx) for tx in txs]))

    def parse(code: int, content: bytes) -> list[s.BatchItem]:
        return _reader(s.BatchResponse)(code, content).results

    return Call("POST", "/v1/transactions/batch", parse, body=body, extra_timeout_s=60.0)


def transaction(tx_id: Bytesish) -> Call[s.TransactionJson]:
    return Call("GET", f"/v1/transactions/{as_hex(tx_id)}", _reader(s.TransactionJson))


def block(height: int | str = "latest") -> Call[s.BlockJson]:
    where = "latest" if height == "latest" else str(int(height))
    return Call("GET", f"/v1/blocks/{where}", _reader(s.BlockJson))


def block_by_id(block_id: Bytesish) -> Call[s.BlockJson]:
    return Call("GET", f"/v1/blocks/by-id/{as_hex(block_id)}", _reader(s.BlockJson))


def account(address: Bytesish) -> Call[s.AccountJson]:
    return Call("GET", f"/v1/accounts/{as_hex(address)}", _reader(s.AccountJson))


def asset(symbol: str) -> Call[s.AssetJson]:
    return Call("GET", f"/v1/assets/{symbol}", _reader(s.AssetJson))


def state(key: Bytesish, version: int | None = None) -> Call[s.StateJson]:
    params = {} if version is None else {"version": version}
    return Call("GET", f"/v1/state/{as_hex(key)}", _reader(s.StateJson), params=params)


def proposals(status: str | None = None, limit: int = 100) -> Call[s.ProposalListJson]:
    params: dict[str, Any] = {"limit": limit}
    if status is not None:
        params["status"] = status
    path = "/v1/governance/proposals"
    return Call("GET", path, _reader(s.ProposalListJson), params=params)


def proposal(proposal_id: int) -> Call[s.ProposalJson]:
    return Call("GET", f"/v1/governance/proposals/{int(proposal_id)}", _reader(s.ProposalJson))


def organisations() -> Call[s.OrganisationsJson]:
    return Call("GET", "/v1/governance/organisations", _reader(s.OrganisationsJson))


def roles(address: Bytesish) -> Call[s.RolesJson]:
    return Call("GET", f"/v1/governance/roles/{as_hex(address)}", _reader(s.RolesJson))


# ------------------------------------------------------------ multi-step flows

Flow = Generator[Call[Any], Any, T]
"""A sans-I/O operation: yields calls, receives each call's result, returns T."""


class NonceBook:
    """Next nonces of the signers this client has sent for (ahead of execution)."""

    def __init__(self) -> None:
        self._next: dict[bytes, int] = {}

    def send_flow(
        self,
        signer: Signer,
        module: str,
        method: str,
        args: Canonical,
        *,
        wait: float | None,
        gas_limit: int,
        expiry_blocks: int,
        check: bool,
    ) -> Flow[s.TransactionJson]:
        """Fetch the nonce (once per signer), build, sign, submit, wait for the commit."""
        node: s.StatusJson = yield status()
        nonce = self._next.get(signer.address)
        if nonce is None:
            found: s.AccountJson = yield account(signer.address)
            nonce = found.nonce
        body = TxBody(
            chain_id=node.chain_id,
            sender=signer.address,
            nonce=nonce,
            module=module,
            method=method,
            args=encode(args),
            gas_limit=gas_limit,
            expiry_height=node.height + expiry_blocks,
        )
        try:
            record: s.TransactionJson = yield submit(signer.sign(body), wait)
        except ApiError:
            self._next.pop(signer.address, None)  # re-read the nonce next time
            raise
        self._next[signer.address] = nonce + 1
        if wait and record.status != "committed":
            raise TransactionTimeout(record.tx_id, wait)
        if check and record.receipt is not None and record.receipt.status != STATUS_OK:
            raise TransactionFailed(record)
        return record

    def forget(self, address: bytes) -> None:
        """Drop the tracked nonce of ``address`` (next send re-reads it)."""
        self._next.pop(address, None)
