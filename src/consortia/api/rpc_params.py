"""JSON-RPC params, checked before a method runs: one typed spec per method ([API-RPC-PARAMS.1]).

A :class:`ParamSpec` lists a method's positional params, each a :class:`Param`
with a name, a kind (quantity, data, address, hash, block, bool, call object,
log filter, ...) and whether it may be left out. :func:`parse_params` turns
the request's ``params`` array into the parsed values (bytes, ints,
:class:`BlockRef`, :class:`CallObject`, :class:`LogFilter`) or raises
:class:`InvalidParams` naming the offending param by index and name:
``param 0 (address): must be 20 bytes, got 19``. That is the only way a
request gets -32602; a method handler receives values that are already
valid, so an exception inside it is the node's bug (-32603).

Formats follow the Ethereum JSON-RPC specification: a quantity is a JSON
number or ``0x`` hex in 0..2**256-1, data is ``0x`` hex, an address 20
bytes and a hash 32 bytes of it, a block is ``latest``/``pending``/``safe``/
``finalized``/``earliest``, a quantity, or an EIP-1898 ``{"blockNumber": q}``.
An optional param given as ``null`` takes its default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

_HEX_DIGITS: Final = "0123456789abcdefABCDEF"
U256_MAX: Final = 2**256 - 1
BLOCK_TAGS: Final = frozenset({"latest", "pending", "safe", "finalized", "earliest"})
"""Named blocks; ``pending``, ``safe`` and ``finalized`` are the latest committed one (BFT)."""


class InvalidParams(Exception):
    """The request's params do not fit the method's spec (-32602); names the param."""

    def __init__(self, message: str, index: int | None = None, name: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.index = index
        self.name = name


class BadValue(ValueError):
    """One value does not fit its kind; :func:`parse_params` adds which param it is."""


Kind = Callable[[Any], Any]
"""Parses one JSON value into its typed form, or raises :class:`BadValue`."""


@dataclass(frozen=True, slots=True)
class BlockRef:
    """A block param: a named tag, or a height (checked against the chain by the handler)."""

    tag: str | None = None
    """One of :data:`BLOCK_TAGS`, or None for a height."""
    height: int = 0
    """The height when ``tag`` is None."""


LATEST: Final = BlockRef(tag="latest")


@dataclass(frozen=True, slots=True)
class CallObject:
    """The fields of an ``eth_call``/``eth_estimateGas`` transaction object the node uses."""

    sender: bytes
    """``from``, or 20 zero bytes."""
    to: bytes
    """``to``, or empty for a contract creation."""
    data: bytes
    """``data`` (or ``input``)."""
    value: int
    gas: int | None
    """``gas``, or None for the chain's per-transaction cap."""


@dataclass(frozen=True, slots=True)
class LogFilter:
    """An ``eth_getLogs``/``logs`` subscription filter, addresses and topics as lowercase 0x hex."""

    from_block: BlockRef = LATEST
    to_block: BlockRef = LATEST
    block_hash: bytes | None = None
    addresses: frozenset[str] | None = None
    """Any of these emitters, or None for any."""
    topics: tuple[tuple[str, ...] | None, ...] = ()
    """Per position: any of these topics, or None for any."""


# -- kinds --------------------------------------------------------------------


def _hex(value: Any) -> bytes:
    if not isinstance(value, str):
        raise BadValue(f"must be a 0x-prefixed hex string, got {_json_type(value)}")
    if not value.startswith(("0x", "0X")):
        raise BadValue("must be a 0x-prefixed hex string")
    text = value[2:]
    if text.strip(_HEX_DIGITS):
        raise BadValue("is not hex")
    return bytes.fromhex(text if len(text) % 2 == 0 else "0" + text)


def data(value: Any) -> bytes:
    """``0x`` hex of any length."""
    return _hex(value)


def fixed(length: int) -> Kind:
    """``0x`` hex of exactly ``length`` bytes."""

    def parse(value: Any) -> bytes:
        raw = _hex(value)
        if len(raw) != length:
            raise BadValue(f"must be {length} bytes, got {len(raw)}")
        return raw

    return parse


address = fixed(20)
hash32 = fixed(32)


def quantity(value: Any) -> int:
    """A JSON number or ``0x`` hex, in 0..2**256-1."""
    if isinstance(value, bool):
        raise BadValue("must be a quantity (0x hex or a number), got boolean")
    if isinstance(value, int):
        if value < 0:
            raise BadValue("must not be negative")
        number = value
    elif isinstance(value, str):
        raw = _hex(value)
        number = int.from_bytes(raw, "big") if raw else 0
    else:
        raise BadValue(f"must be a quantity (0x hex or a number), got {_json_type(value)}")
    if number > U256_MAX:
        raise BadValue("exceeds 2**256 - 1")
    return number


def boolean(value: Any) -> bool:
    """``true`` or ``false``."""
    if not isinstance(value, bool):
        raise BadValue(f"must be true or false, got {_json_type(value)}")
    return value


def string(value: Any) -> str:
    """Any JSON string."""
    if not isinstance(value, str):
        raise BadValue(f"must be a string, got {_json_type(value)}")
    return value


def block(value: Any) -> BlockRef:
    """A block tag, a quantity, or ``{"blockNumber": quantity}`` (EIP-1898)."""
    if isinstance(value, str) and not value.startswith(("0x", "0X")):
        if value not in BLOCK_TAGS:
            raise BadValue(f"must be a block number or one of {', '.join(sorted(BLOCK_TAGS))}")
        return BlockRef(tag=value)
    if isinstance(value, dict):
        if set(value) != {"blockNumber"}:
            raise BadValue('as an object must be {"blockNumber": quantity}')
        value = value["blockNumber"]
    return BlockRef(height=quantity(value))


def one_of(*choices: str) -> Kind:
    """One of the strings ``choices``."""

    def parse(value: Any) -> str:
        if value not in choices:
            raise BadValue(f"must be one of {', '.join(choices)}, got {_short(value)}")
        return str(value)

    return parse


def list_of(kind: Kind, *, max_items: int) -> Kind:
    """A JSON array of at most ``max_items`` values of ``kind``."""

    def parse(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise BadValue(f"must be an array, got {_json_type(value)}")
        if len(value) > max_items:
            raise BadValue(f"holds at most {max_items} items, got {len(value)}")
        return [_field(kind, item, f"[{i}]") for i, item in enumerate(value)]

    return parse


def percentile(value: Any) -> float:
    """A number in 0..100."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise BadValue(f"must be a number in 0..100, got {_short(value)}")
    return float(value)


def call_object(value: Any) -> CallObject:
    """A transaction object; the fields the node uses are checked, others ignored."""
    fields = _object(value)
    payload = _optional(fields, "data", data)
    if payload is None:
        payload = _optional(fields, "input", data)
    gas = _optional(fields, "gas", quantity)
    return CallObject(
        sender=_optional(fields, "from", address) or bytes(20),
        to=_optional(fields, "to", address) or b"",
        data=payload or b"",
        value=_optional(fields, "value", quantity) or 0,
        gas=gas,
    )


MAX_FILTER_ADDRESSES: Final = 100
MAX_TOPICS: Final = 4
MAX_TOPIC_CHOICES: Final = 100


def log_filter(value: Any) -> LogFilter:
    """A log filter: ``blockHash`` or ``fromBlock``/``toBlock``, ``address``, ``topics``."""
    fields = _object(value)
    block_hash = _optional(fields, "blockHash", hash32)
    if block_hash is not None and ("fromBlock" in fields or "toBlock" in fields):
        raise BadValue("takes blockHash or fromBlock/toBlock, not both")
    addresses = fields.get("address")
    if addresses is not None and not isinstance(addresses, list):
        addresses = [addresses]
    wanted = (
        _field(list_of(address, max_items=MAX_FILTER_ADDRESSES), addresses, ".address")
        if addresses is not None
        else None
    )
    topic_kind = list_of(_topic, max_items=MAX_TOPICS)
    topics = _field(topic_kind, fields.get("topics") or [], ".topics")
    return LogFilter(
        from_block=_optional(fields, "fromBlock", block) or LATEST,
        to_block=_optional(fields, "toBlock", block) or LATEST,
        block_hash=block_hash,
        addresses=frozenset("0x" + a.hex() for a in wanted) if wanted else None,
        topics=tuple(topics),
    )


def _topic(value: Any) -> tuple[str, ...] | None:
    """null (any topic), a 32-byte topic, or an array of them (any of; nulls in it ignored)."""
    if value is None:
        return None
    choices = value if isinstance(value, list) else [value]
    if len(choices) > MAX_TOPIC_CHOICES:
        raise BadValue(f"holds at most {MAX_TOPIC_CHOICES} topics, got {len(choices)}")
    return tuple(
        "0x" + _field(hash32, t, f"[{i}]").hex() for i, t in enumerate(choices) if t is not None
    )


# -- specs --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Param:
    """One positional param: its name in the Ethereum specification and its kind."""

    name: str
    kind: Kind
    required: bool = True
    default: Any = None
    """Value passed when an optional param is absent or null."""


ParamSpec = tuple[Param, ...]
"""A method's positional params, required ones first."""

NO_PARAMS: Final[ParamSpec] = ()


def optional(name: str, kind: Kind, default: Any = None) -> Param:
    """An optional param taking ``default`` when absent or null."""
    return Param(name, kind, required=False, default=default)


def parse_params(spec: ParamSpec, params: Any) -> list[Any]:
    """The values of ``params`` checked and parsed by ``spec``, one per param in ``spec``.

    Raises:
        InvalidParams: ``params`` is not an array, has too few or too many items,
            or an item does not fit its kind (the message names index and name).
    """
    if not isinstance(params, list):
        raise InvalidParams(f"params must be an array, got {_json_type(params)}")
    required = sum(1 for p in spec if p.required)
    if not required <= len(params) <= len(spec):
        expected = f"{required}" if required == len(spec) else f"{required} to {len(spec)}"
        names = ", ".join(p.name if p.required else f"[{p.name}]" for p in spec) or "none"
        raise InvalidParams(f"expected {expected} params ({names}), got {len(params)}")
    values: list[Any] = []
    for index, param in enumerate(spec):
        value = params[index] if index < len(params) else None
        if value is None and not param.required:
            values.append(param.default)
            continue
        try:
            values.append(param.kind(value))
        except BadValue as exc:
            raise InvalidParams(
                f"param {index} ({param.name}){_join(str(exc))}", index, param.name
            ) from None
    return values


def _field(kind: Kind, value: Any, where: str) -> Any:
    """``kind(value)``, with ``where`` (a key or index) put in front of a refusal."""
    try:
        return kind(value)
    except BadValue as exc:
        raise BadValue(f"{where}{_join(str(exc))}") from None


def _optional(fields: dict[str, Any], key: str, kind: Kind) -> Any:
    value = fields.get(key)
    return None if value is None else _field(kind, value, f".{key}")


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadValue(f"must be an object, got {_json_type(value)}")
    return value


def _join(detail: str) -> str:
    """A nested refusal (``.to: must be ...``) follows directly; a plain one after ``: ``."""
    return detail if detail.startswith((".", "[")) else f": {detail}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
