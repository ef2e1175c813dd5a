"""``Client`` (sync) and ``AsyncClient``: typed access to a node's REST API.

Both are thin transports over the shared calls in :mod:`consortia.sdk._calls`;
their lifetimes are explicit (context managers, idempotent ``close()``).
"""

from __future__ import annotations

import abc
import contextlib
import enum
from collections.abc import AsyncIterator, Coroutine, Sequence
from typing import Any, Generic, TypeVar

import httpx

from consortia.api import schemas as s
from consortia.codec import Canonical
from consortia.ledger.types import Transaction
from consortia.modules.accounts.types import AccountKey, AddKey, RemoveKey, SetKeys
from consortia.modules.assets.types import Burn, Create, Issue, SupplyRule, Transfer
from consortia.sdk import _calls as calls
from consortia.sdk import multisig
from consortia.sdk._calls import Bytesish, Call, Flow, NonceBook, as_bytes
from consortia.sdk._stream import stream_events
from consortia.sdk.errors import ClientError, NodeUnreachable
from consortia.sdk.signer import Signer

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_TIMEOUT_S = 10.0


class ClientState(enum.Enum):
    """Lifetime of a client: open until closed, never reopened."""

    OPEN = "open"
    CLOSED = "closed"


class _Actions(abc.ABC, Generic[R]):
    """High-level transactions, written once over ``send`` (R: a record or its coroutine)."""

    def send(
        self,
        signer: Signer,
        module: str,
        method: str,
        args: Canonical,
        *,
        wait: float | None = 10.0,
        gas_limit: int = calls.DEFAULT_GAS_LIMIT,
        expiry_blocks: int = calls.DEFAULT_EXPIRY_BLOCKS,
        check: bool = True,
    ) -> R:
        """Build, sign and submit ``module.method(args)``; returns the committed record.

        The sender's nonce is read from the node once and then tracked locally,
        so consecutive sends need not wait for each other's commits (``wait=None``
        returns the pending record at once).

        Raises:
            ApiError: the node rejected the transaction (code as the node gives it).
            TransactionTimeout: not committed within ``wait`` seconds.
            TransactionFailed: committed with a non-OK status (unless ``check=False``).
            NodeUnreachable: no answer from the node.
        """
        return self._drive(
            self._nonces.send_flow(
                signer,
                module,
                method,
                args,
                wait=wait,
                gas_limit=gas_limit,
                expiry_blocks=expiry_blocks,
                check=check,
            )
        )

    def create_asset(
        self,
        signer: Signer,
        symbol: str,
        *,
        name: str,
        decimals: int,
        supply_rule: SupplyRule | str,
        max_supply: int = 0,
        burnable: bool = True,
        **options: Any,
    ) -> R:
        """``assets.create`` with ``signer`` as issuer."""
        args = Create(symbol, name, decimals, SupplyRule(supply_rule), max_supply, burnable)
        return self.send(signer, "assets", "create", args, **options)

    def issue(self, signer: Signer, symbol: str, to: Bytesish, amount: int, **options: Any) -> R:
        """``assets.issue``: new base units of ``symbol`` for ``to``."""
        return self.send(signer, "assets", "issue", Issue(symbol, as_bytes(to), amount), **options)

    def transfer(self, signer: Signer, symbol: str, to: Bytesish, amount: int, **options: Any) -> R:
        """``assets.transfer``: move base units from the signer to ``to``."""
        args = Transfer(symbol, as_bytes(to), amount)
        return self.send(signer, "assets", "transfer", args, **options)

    def burn(self, signer: Signer, symbol: str, amount: int, **options: Any) -> R:
        """``assets.burn``: destroy base units the signer holds."""
        return self.send(signer, "assets", "burn", Burn(symbol, amount), **options)

    def add_key(self, signer: Signer, key_type: str, public_key: Bytesish, **options: Any) -> R:
        """``accounts.add_key``: authorise another key for the signer's account."""
        args = AddKey(AccountKey(key_type=key_type, public_key=as_bytes(public_key)))
        return self.send(signer, "accounts", "add_key", args, **options)

    def remove_key(self, signer: Signer, public_key: Bytesish, **options: Any) -> R:
        """``accounts.remove_key``: revoke one of the signer's keys (never the last)."""
        return self.send(
            signer, "accounts", "remove_key", RemoveKey(as_bytes(public_key)), **options
        )

    def set_keys(self, signer: Signer, keys: Sequence[tuple[str, Bytesish]], **options: Any) -> R:
        """``accounts.set_keys``: replace all of the signer's keys with ``(key_type, key)`` pairs.

        The one way to change an existing account's keys besides add/remove:
        only the account signs it (an org admin cannot; a lost key is a
        governance ``recover_account`` proposal).
        """
        args = SetKeys(tuple(AccountKey(key_type=t, public_key=as_bytes(k)) for t, k in keys))
        return self.send(signer, "accounts", "set_keys", args, **options)

    def send_multisig(
        self,
        signers: Sequence[Signer],
        sender: Bytesish,
        module: str,
        method: str,
        args: Canonical,
        *,
        wait: float | None = 10.0,
        gas_limit: int = calls.DEFAULT_GAS_LIMIT,
        expiry_blocks: int = calls.DEFAULT_EXPIRY_BLOCKS,
        check: bool = True,
    ) -> R:
        """``module.method(args)`` from the multisig account ``sender``, signed by every one
        of ``signers`` (their weights must meet its threshold; docs/multisig.md).

        Signers that are not together use :meth:`Client.prepare` and
        :class:`~consortia.sdk.multisig.PendingMultisig` instead. Raises as :meth:`send`.
        """
        account = as_bytes(sender)
        self._nonces.forget(account)  # the nonce is read afresh, not tracked
        flow = multisig.send_flow(
            signers,
            account,
            module,
            method,
            args,
            wait=wait,
            gas_limit=gas_limit,
            expiry_blocks=expiry_blocks,
            check=check,
        )
        return self._drive(flow)

    def set_multisig(
        self,
        signers: Sequence[Signer],
        sender: Bytesish,
        keys: Sequence[tuple[str, Bytesish, int]],
        threshold: int,
        **options: Any,
    ) -> R:
        """``accounts.set_multisig``: give ``sender`` the ``(key_type, key, weight)`` set and
        ``threshold``, signed by ``signers`` meeting its *current* threshold (key rotation)."""
        args = multisig.set_multisig_args([(t, as_bytes(k), w) for t, k, w in keys], threshold)
        return self.send_multisig(signers, sender, "accounts", "set_multisig", args, **options)

    # implemented by each client
    _nonces: NonceBook

    @abc.abstractmethod
    def _drive(self, flow: Flow[s.TransactionJson]) -> R:
        """Run ``flow`` with this client's transport (blocking or awaitable)."""


def _request_options(state: ClientState, call: Call[Any], timeout: float) -> dict[str, Any]:
    """httpx keyword arguments of ``call`` (refused once the client is closed)."""
    if state is ClientState.CLOSED:
        raise ClientError("client is closed")
    return {
        "method": call.method,
        "url": call.path,
        "params": call.params,
        "content": call.body,
        "headers": {"content-type": "application/json"} if call.body is not None else None,
        "timeout": timeout + call.extra_timeout_s,
    }


def _unreachable(url: str, exc: httpx.TransportError) -> NodeUnreachable:
    return NodeUnreachable(url, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


class Client(_Actions[s.TransactionJson]):
    """Synchronous client of one node (``with Client(url) as c: c.status()``)."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.url = url.rstrip("/")
        self._timeout = timeout
        self._http = httpx.Client(base_url=self.url, timeout=timeout)
        self._nonces = NonceBook()
        self.state_ = ClientState.OPEN

    def _call(self, call: Call[T]) -> T:
        try:
            response = self._http.request(**_request_options(self.state_, call, self._timeout))
        except httpx.TransportError as exc:
            raise _unreachable(self.url, exc) from None
        return call.parse(response.status_code, response.content)

    def _drive(self, flow: Flow[T]) -> T:
        try:
            call = next(flow)
            while True:
                try:
                    result = self._call(call)
                except ClientError as exc:
                    call = flow.throw(exc)
                else:
                    call = flow.send(result)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def prepare(
        self,
        sender: Bytesish,
        module: str,
        method: str,
        args: Canonical,
        *,
        gas_limit: int = calls.DEFAULT_GAS_LIMIT,
        expiry_blocks: int = calls.DEFAULT_EXPIRY_BLOCKS,
    ) -> multisig.PendingMultisig:
        """The unsigned ``module.method(args)`` of ``sender`` at its next nonce, for signers
        to sign offline (:class:`~consortia.sdk.multisig.PendingMultisig`)."""
        flow = multisig.prepare_flow(
            as_bytes(sender), module, method, args, gas_limit=gas_limit, expiry_blocks=expiry_blocks
        )
        return self._drive(flow)

    def status(self) -> s.StatusJson:
        """The node's status."""
        return self._call(calls.status())

    def submit(self, tx: Transaction | bytes, wait: float | None = None) -> s.TransactionJson:
        """Submit a signed transaction; with ``wait`` (s, <= 60) the committed record."""
        return self._call(calls.submit(tx, wait))

    def submit_batch(self, txs: Sequence[Transaction | bytes]) -> list[s.BatchItem]:
        """Submit up to 10,000 transactions; one ``tx_id`` or ``error`` per item."""
        return self._call(calls.submit_batch(txs))

    def transaction(self, tx_id: Bytesish) -> s.TransactionJson:
        """A committed or pending transaction."""
        return self._call(calls.transaction(tx_id))

    def block(self, height: int | str = "latest") -> s.BlockJson:
        """A block by height, or the latest."""
        return self._call(calls.block(height))

    def block_by_id(self, block_id: Bytesish) -> s.BlockJson:
        """A block by id."""
        return self._call(calls.block_by_id(block_id))

    def account(self, address: Bytesish) -> s.AccountJson:
        """An account's nonce, keys, balances and newest transactions."""
        return self._call(calls.account(address))

    def asset(self, symbol: str) -> s.AssetJson:
        """An asset definition."""
        return self._call(calls.asset(symbol))

    def state(self, key: Bytesish, version: int | None = None) -> s.StateJson:
        """A state value with its proof (check it with ``verify_state_record``)."""
        return self._call(calls.state(key, version))

    def proposals(self, status: str | None = None, limit: int = 100) -> s.ProposalListJson:
        """Governance proposals, newest first (optionally only one status)."""
        return self._call(calls.proposals(status, limit))

    def proposal(self, proposal_id: int) -> s.ProposalJson:
        """One proposal with votes, tally and history."""
        return self._call(calls.proposal(proposal_id))

    def organisations(self) -> s.OrganisationsJson:
        """Member organisations and the committee."""
        return self._call(calls.organisations())

    def roles(self, address: Bytesish) -> s.RolesJson:
        """An account's roles, organisation and committee weight."""
        return self._call(calls.roles(address))

    def close(self) -> None:
        """Close the connection pool (idempotent)."""
        if self.state_ is ClientState.OPEN:
            self.state_ = ClientState.CLOSED
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncClient(_Actions[Coroutine[Any, Any, s.TransactionJson]]):
    """Asynchronous client of one node (``async with AsyncClient(url) as c: ...``)."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.url = url.rstrip("/")
        self._timeout = timeout
        self._http = httpx.AsyncClient(base_url=self.url, timeout=timeout)
        self._nonces = NonceBook()
        self.state_ = ClientState.OPEN

    async def _call(self, call: Call[T]) -> T:
        try:
            response = await self._http.request(
                **_request_options(self.state_, call, self._timeout)
            )
        except httpx.TransportError as exc:
            raise _unreachable(self.url, exc) from None
        return call.parse(response.status_code, response.content)

    async def _drive(self, flow: Flow[T]) -> T:
        try:
            call = next(flow)
            while True:
                try:
                    result = await self._call(call)
                except ClientError as exc:
                    call = flow.throw(exc)
                else:
                    call = flow.send(result)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def prepare(
        self,
        sender: Bytesish,
        module: str,
        method: str,
        args: Canonical,
        *,
        gas_limit: int = calls.DEFAULT_GAS_LIMIT,
        expiry_blocks: int = calls.DEFAULT_EXPIRY_BLOCKS,
    ) -> multisig.PendingMultisig:
        """The unsigned ``module.method(args)`` of ``sender`` (see :meth:`Client.prepare`)."""
        flow = multisig.prepare_flow(
            as_bytes(sender), module, method, args, gas_limit=gas_limit, expiry_blocks=expiry_blocks
        )
        return await self._drive(flow)

    async def status(self) -> s.StatusJson:
        """The node's status."""
        return await self._call(calls.status())

    async def submit(self, tx: Transaction | bytes, wait: float | None = None) -> s.TransactionJson:
        """Submit a signed transaction; with ``wait`` (s, <= 60) the committed record."""
        return await self._call(calls.submit(tx, wait))

    async def submit_batch(self, txs: Sequence[Transaction | bytes]) -> list[s.BatchItem]:
        """Submit up to 10,000 transactions; one ``tx_id`` or ``error`` per item."""
        return await self._call(calls.submit_batch(txs))

    async def transaction(self, tx_id: Bytesish) -> s.TransactionJson:
        """A committed or pending transaction."""
        return await self._call(calls.transaction(tx_id))

    async def block(self, height: int | str = "latest") -> s.BlockJson:
        """A block by height, or the latest."""
        return await self._call(calls.block(height))

    async def block_by_id(self, block_id: Bytesish) -> s.BlockJson:
        """A block by id."""
        return await self._call(calls.block_by_id(block_id))

    async def account(self, address: Bytesish) -> s.AccountJson:
        """An account's nonce, keys, balances and newest transactions."""
        return await self._call(calls.account(address))

    async def asset(self, symbol: str) -> s.AssetJson:
        """An asset definition."""
        return await self._call(calls.asset(symbol))

    async def state(self, key: Bytesish, version: int | None = None) -> s.StateJson:
        """A state value with its proof (check it with ``verify_state_record``)."""
        return await self._call(calls.state(key, version))

    async def proposals(self, status: str | None = None, limit: int = 100) -> s.ProposalListJson:
        """Governance proposals, newest first (optionally only one status)."""
        return await self._call(calls.proposals(status, limit))

    async def proposal(self, proposal_id: int) -> s.ProposalJson:
        """One proposal with votes, tally and history."""
        return await self._call(calls.proposal(proposal_id))

    async def organisations(self) -> s.OrganisationsJson:
        """Member organisations and the committee."""
        return await self._call(calls.organisations())

    async def roles(self, address: Bytesish) -> s.RolesJson:
        """An account's roles, organisation and committee weight."""
        return await self._call(calls.roles(address))

    async def events(
        self, after: int | None = None, *, resume: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        """The node's event stream (``block``, ``tx``, ``lagged`` frames, docs/api.md).

        Parameters:
            after: a height this reader already has (e.g. the height of a snapshot
                it read): the node first replays every block above it, then
                streams live, each block exactly once. None: live frames only.
            resume: reconnect after a dropped socket, a ``lagged`` close or a node
                restart, resuming from the last frame delivered (no gap, no
                duplicate); ``lagged`` frames are then not yielded. With ``after``
                None it starts from the node's current height.

        Raises:
            ApiError: the node refused the cursor (``EVENTS_BAD_CURSOR``,
                ``EVENTS_CURSOR_AHEAD``, ``EVENTS_CURSOR_TOO_OLD``) or the socket.
            NodeUnreachable: no connection (only without ``resume``).
        """
        if resume and after is None:
            after = (await self.status()).height  # "from now", without a gap
        ws_url = self.url.replace("https://", "wss://").replace("http://", "ws://")
        frames = stream_events(ws_url + "/v1/events", self.url, after, resume=resume)
        async with contextlib.aclosing(frames):  # the socket closes when the caller stops
            async for frame in frames:
                yield frame

    async def close(self) -> None:
        """Close the connection pool (idempotent)."""
        if self.state_ is ClientState.OPEN:
            self.state_ = ClientState.CLOSED
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
