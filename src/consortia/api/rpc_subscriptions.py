"""``eth_subscribe``/``eth_unsubscribe`` over ``WS /rpc``: ``newHeads`` and ``logs``.

Params are checked by :data:`consortia.api.rpc_methods.SUBSCRIPTION_SPECS`, so a
bad logs filter is refused when subscribing, not at the next block.
"""

from __future__ import annotations

from typing import Any, Final

from consortia.api.rpc_envelope import (
    LIMIT_EXCEEDED,
    RpcError,
    error_answer,
    invalid_params,
    is_request,
    result_answer,
)
from consortia.api.rpc_eth_objects import EthObjects
from consortia.api.rpc_methods import SUBSCRIPTION_SPECS
from consortia.api.rpc_params import InvalidParams, LogFilter, parse_params

MAX_SUBSCRIPTIONS: Final = 32
"""``eth_subscribe`` subscriptions one WebSocket holds at once: each one is work on
the event loop at every block, so a socket past it gets -32005
``API_TOO_MANY_SUBSCRIPTIONS`` until it unsubscribes one."""


class Subscriptions:
    """``eth_subscribe`` state of one WebSocket."""

    def __init__(self, objects: EthObjects) -> None:
        self._objects = objects
        self._subs: dict[str, tuple[str, LogFilter]] = {}
        self._next = 0

    def handle(self, request: Any) -> dict[str, Any] | None:
        """Answer eth_subscribe / eth_unsubscribe; None for any other request."""
        if not is_request(request) or request["method"] not in SUBSCRIPTION_SPECS:
            return None
        method, ident = request["method"], request.get("id")
        try:
            values = parse_params(SUBSCRIPTION_SPECS[method], request.get("params", []))
        except InvalidParams as exc:
            return error_answer(ident, invalid_params(exc))
        if method == "eth_unsubscribe":
            return result_answer(ident, self._subs.pop(values[0], None) is not None)
        if len(self._subs) >= MAX_SUBSCRIPTIONS:
            refusal = RpcError(
                LIMIT_EXCEEDED,
                f"at most {MAX_SUBSCRIPTIONS} subscriptions per WebSocket; "
                "eth_unsubscribe one first",
                {"code": "API_TOO_MANY_SUBSCRIPTIONS"},
            )
            return error_answer(ident, refusal)
        self._next += 1
        sub = hex(self._next)
        self._subs[sub] = (values[0], values[1])
        return result_answer(ident, sub)

    def notifications(self, height: int) -> list[dict[str, Any]]:
        """What the subscriptions receive for a newly executed block."""
        out = []
        for sub, (kind, wanted) in self._subs.items():
            if kind == "newHeads":
                head = self._objects.block_json(height, False)
                del head["transactions"]
                results = [head]
            else:
                results = self._objects.block_logs(height, wanted)
            out += [
                {
                    "jsonrpc": "2.0",
                    "method": "eth_subscription",
                    "params": {"subscription": sub, "result": result},
                }
                for result in results
            ]
        return out
