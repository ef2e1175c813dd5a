"""Canonical structs to and from the API's JSON conventions ([API-JSON.1]).

Canonical structs encode as MessagePack arrays; on the JSON API they appear
as objects keyed by field name, with bytes as ``0x`` hex. :func:`to_plain`
renders a struct that way and :func:`from_plain` builds one back (used for
``args_decoded`` and for ``consortia tx send --args-json``).
"""

from __future__ import annotations

import enum
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi

T = TypeVar("T")


class ShapeError(ValueError):
    """JSON that does not fit the expected struct; the message names the field."""


def parse_hex(text: str) -> bytes:
    """Bytes from hex with or without ``0x``; raises ValueError."""
    digits = text[2:] if text[:2] in ("0x", "0X") else text
    if len(digits) % 2:
        raise ValueError("odd number of hex digits")
    return bytes.fromhex(digits)


def to_plain(value: Any) -> Any:
    """JSON-ready builtins: structs as objects, bytes as ``0x`` hex, enums by value."""
    if isinstance(value, msgspec.Struct):
        return {name: to_plain(getattr(value, name)) for name in value.__struct_fields__}
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    return value


def from_plain(data: Any, type_: type[T]) -> T:
    """Build ``type_`` from JSON builtins written as :func:`to_plain` renders them.

    Raises:
        ShapeError: missing or unknown fields, bad hex.
        msgspec.ValidationError: a value of the wrong type or out of range.
    """
    return msgspec.convert(_prepare(data, mi.type_info(type_), "$"), type_)


def _prepare(value: Any, info: mi.Type, path: str) -> Any:
    if isinstance(info, mi.Metadata):
        return _prepare(value, info.type, path)
    if isinstance(info, mi.StructType):
        return _prepare_struct(value, info, path)
    if isinstance(info, mi.BytesType) and isinstance(value, str):
        try:
            return parse_hex(value)
        except ValueError as exc:
            raise ShapeError(f"{path}: expected hex bytes ({exc})") from None
    if isinstance(info, mi.ListType | mi.VarTupleType) and isinstance(value, list):
        return [_prepare(v, info.item_type, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(info, mi.TupleType) and isinstance(value, list):
        return [
            _prepare(v, t, f"{path}[{i}]")
            for i, (v, t) in enumerate(zip(value, info.item_types, strict=False))
        ]
    if isinstance(info, mi.UnionType) and value is not None:
        for option in info.types:
            if not isinstance(option, mi.NoneType):
                return _prepare(value, option, path)
    return value


def _prepare_struct(value: Any, info: mi.StructType, path: str) -> Any:
    if not isinstance(value, dict):
        raise ShapeError(f"{path}: expected an object with fields {_names(info)}")
    known = {field.encode_name for field in info.fields}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ShapeError(f"{path}: unknown field {unknown[0]!r} (fields: {_names(info)})")
    items: list[Any] = []
    for field in info.fields:
        where = f"{path}.{field.encode_name}"
        if field.encode_name in value:
            items.append(_prepare(value[field.encode_name], field.type, where))
        elif field.required:
            raise ShapeError(f"{where}: missing required field")
        elif field.default_factory is not msgspec.NODEFAULT:
            items.append(field.default_factory())
        else:
            items.append(field.default)
    if info.array_like:
        return items
    return {field.encode_name: item for field, item in zip(info.fields, items, strict=True)}


def _names(info: mi.StructType) -> str:
    return ", ".join(field.encode_name for field in info.fields)
