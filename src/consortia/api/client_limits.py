"""Who a request comes from, and how much of the node's expensive reads it may use.

[API-CLIENT.1] Each HTTP request and WebSocket has a :data:`ClientId`, set
by :class:`ClientIdentityMiddleware` for the whole of its handling: today
the peer's IP address (``ip:203.0.113.7``); once the API authenticates its
callers, the authenticated identity replaces it (only
:func:`client_of` changes). Limits are keyed by that id, never by a
connection, so opening more connections buys nothing.

[API-CLIENT-LIMIT.1] :class:`ClientLimits` bounds each client's EVM calls:
at most ``in_flight`` running or waiting at once (``API_CLIENT_BUSY``), and
a token bucket of ``rate`` calls per second holding one second's worth
(``API_RATE_LIMITED``). A refused call changes no counter. Both answer
HTTP 429; over JSON-RPC, -32005 with the code in ``data.code``.

[API-CLIENT-LIMIT.2] :class:`SocketLimits` bounds the WebSockets one client
holds open at once over ``/v1/events`` and ``/rpc`` together
(:data:`MAX_SOCKETS_PER_CLIENT`): every socket is one more subscriber the
event loop serves on each block, so their number is the client's to spend
within a budget, not without end. A socket past it is accepted and closed at
once with 1008 and the reason ``API_TOO_MANY_SOCKETS``.

Errors::

    ApiError
     └── ClientLimited     API_CLIENT_LIMITED  429 (abstract)
          ├── RateLimited  API_RATE_LIMITED    429 calls started faster than the rate
          ├── ClientBusy   API_CLIENT_BUSY     429 too many calls of this client at once
          └── TooManySockets API_TOO_MANY_SOCKETS 429 too many WebSockets of this client
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NewType

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from consortia.api.errors import ApiError

if TYPE_CHECKING:
    from consortia.node.service import NodeService

ClientId = NewType("ClientId", str)
"""Whom limits are counted against: ``ip:<address>`` until authentication exists."""

LOCAL_CLIENT: Final = ClientId("local")
"""The id of calls made inside the node process (no HTTP request around them)."""

current_client: ContextVar[ClientId] = ContextVar("consortia_client", default=LOCAL_CLIENT)
"""The client of the request being handled (set by :class:`ClientIdentityMiddleware`)."""

MAX_SOCKETS_PER_CLIENT: Final = 64
"""WebSockets (``/v1/events`` and ``/rpc`` together) one client may hold open at once."""

POLICY_VIOLATION: Final = 1008
"""WebSocket close code for a socket refused by a limit (RFC 6455, 7.4.1)."""

SWEEP_AT: Final = 4_096
"""Clients tracked before idle ones (bucket full, nothing in flight) are forgotten."""


class ClientLimited(ApiError):
    """A client exceeded one of its limits; retry later."""

    code = "API_CLIENT_LIMITED"
    http_status = 429


class RateLimited(ClientLimited):
    """The client started calls faster than its rate allows."""

    code = "API_RATE_LIMITED"


class ClientBusy(ClientLimited):
    """The client already has as many calls running or waiting as it may."""

    code = "API_CLIENT_BUSY"


class TooManySockets(ClientLimited):
    """The client already holds as many WebSockets open as it may."""

    code = "API_TOO_MANY_SOCKETS"


def client_of(scope: Scope) -> ClientId:
    """The client of an ASGI connection: its peer address (authentication will replace it)."""
    peer = scope.get("client")
    host = peer[0] if peer else "unknown"
    return ClientId(f"ip:{host}")


class ClientIdentityMiddleware:
    """Sets :data:`current_client` for each HTTP request and WebSocket."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token = current_client.set(client_of(scope))
        try:
            await self.app(scope, receive, send)
        finally:
            current_client.reset(token)


@dataclass(slots=True)
class _Account:
    tokens: float
    updated: float
    in_flight: int = 0


class ClientLimits:
    """Per-client concurrency and rate limits ([API-CLIENT-LIMIT.1]); event-loop only."""

    def __init__(
        self,
        *,
        rate: float,
        in_flight: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``rate``: calls per second (bucket of ``max(1, rate)``); ``in_flight``: at once."""
        self.rate = rate
        self.burst = max(1.0, rate)
        self.in_flight = in_flight
        self._clock = clock
        self._accounts: dict[ClientId, _Account] = {}

    @contextmanager
    def admit(self, client: ClientId) -> Iterator[None]:
        """Hold one of ``client``'s call slots for the ``with`` block.

        Raises:
            ClientBusy: ``client`` already holds ``in_flight`` slots.
            RateLimited: ``client``'s bucket holds less than one call.
        """
        now = self._clock()
        account = self._accounts.get(client)
        if account is None:
            if len(self._accounts) >= SWEEP_AT:
                self._sweep(now)
            account = self._accounts[client] = _Account(tokens=self.burst, updated=now)
        tokens = min(self.burst, account.tokens + (now - account.updated) * self.rate)
        if account.in_flight >= self.in_flight:
            raise ClientBusy(
                f"{client} already has {account.in_flight} EVM calls running or waiting "
                f"(at most {self.in_flight}); retry when one is answered"
            )
        if tokens < 1.0:
            wait = (1.0 - tokens) / self.rate
            raise RateLimited(
                f"{client} starts EVM calls faster than {self.rate:g} per second; "
                f"retry in {wait:.2f} s"
            )
        account.tokens = tokens - 1.0
        account.updated = now
        account.in_flight += 1
        try:
            yield
        finally:
            account.in_flight -= 1

    def _sweep(self, now: float) -> None:
        """Forget clients whose bucket has refilled and who have nothing in flight."""
        idle = [
            client
            for client, account in self._accounts.items()
            if account.in_flight == 0
            and account.tokens + (now - account.updated) * self.rate >= self.burst
        ]
        for client in idle:
            del self._accounts[client]


class SocketLimits:
    """WebSockets each client holds open ([API-CLIENT-LIMIT.2]); event-loop only."""

    def __init__(self, per_client: int = MAX_SOCKETS_PER_CLIENT) -> None:
        self.per_client = per_client
        self._open: dict[ClientId, int] = {}

    def open_count(self, client: ClientId) -> int:
        """Sockets ``client`` holds open now."""
        return self._open.get(client, 0)

    @contextmanager
    def hold(self, client: ClientId) -> Iterator[None]:
        """Count one open socket of ``client`` for the ``with`` block.

        Raises:
            TooManySockets: ``client`` already holds ``per_client`` sockets.
        """
        held = self._open.get(client, 0)
        if held >= self.per_client:
            raise TooManySockets(
                f"at most {self.per_client} WebSockets per client; close one first"
            )
        self._open[client] = held + 1
        try:
            yield
        finally:
            left = self._open[client] - 1
            if left:
                self._open[client] = left
            else:
                del self._open[client]


async def refuse_socket(socket: WebSocket, refusal: ApiError) -> None:
    """Accept ``socket`` only to close it with 1008 and ``refusal``'s code as the reason."""
    await socket.accept()
    reason = f"{refusal.code}: {refusal.message}"
    await socket.close(code=POLICY_VIOLATION, reason=reason.encode()[:123].decode(errors="ignore"))


def call_limits(service: NodeService) -> ClientLimits | None:
    """The one per-client limit on ``service``'s EVM calls (None: it serves no calls).

    Built once with the application, from the call pool's configured client
    rate and concurrency, and shared by every route that runs calls.
    """
    if service.calls is None:
        return None
    limits = service.calls.limits
    return ClientLimits(rate=limits.client_rate, in_flight=limits.client_in_flight)
