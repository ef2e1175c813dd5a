"""Typed module events: declared struct classes that become ledger events ([EXEC-EVENT.1]).

A module declares the events it may emit as :class:`EventStruct` subclasses,
each with a class-level ``event_name``; handlers and end-of-block hooks emit
instances (``ctx.emit(Burned(symbol=..., holder=..., amount=...))``). The
ledger keeps its one event encoding, :class:`~consortia.ledger.types.Event`
with ordered ``(key, value)`` text attributes: a struct converts to it in its
declared field order, ``int`` in decimal, ``bytes`` in lowercase hex, ``str``
as is. So typing events changed no block or receipt hash, and the declared
field types (:func:`event_schema`) tell the API, console and SDK how to read
the text back.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Final, Literal

import msgspec

from consortia.ledger.types import Event

__all__ = [
    "FIELD_TYPES",
    "EventStruct",
    "FieldType",
    "InvalidEventDeclaration",
    "UndeclaredEvent",
    "event_schema",
    "validate_declarations",
]

FieldType = Literal["uint", "bytes", "string"]
"""How an attribute's text reads: a non-negative decimal integer, lowercase hex, or text."""

FIELD_TYPES: Final[Mapping[type, FieldType]] = {int: "uint", bytes: "bytes", str: "string"}
"""The Python types an event field may have, and the name each is published under."""

_NAME: Final = re.compile(r"^[A-Za-z0-9_.:-]{1,64}\Z")
"""The ledger's ``Name`` rule, which event names and module names follow."""


class InvalidEventDeclaration(TypeError):
    """An event class or a module's event table is malformed (a programming error)."""


class UndeclaredEvent(TypeError):
    """A module emitted an event type it did not declare (a programming error)."""


class EventStruct(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every typed event.

    Subclasses set ``event_name`` (the ledger event's name, a ``Name``) and
    declare fields of type ``int`` (non-negative), ``bytes`` or ``str`` only.
    Both rules are checked by :meth:`schema`, which registering the module
    calls (``Runtime`` construction, :func:`validate_declarations`).
    """

    event_name: ClassVar[str]
    """The name the ledger event carries (``Event.name``)."""

    def attributes(self) -> tuple[tuple[str, str], ...]:
        """The ledger attributes: fields in declaration order, ints decimal, bytes hex.

        Raises:
            InvalidEventDeclaration: a value does not match its declared type
                (a negative or non-int integer, for instance).
        """
        name = self.event_name
        return tuple(
            (field, _text(name, field, kind, getattr(self, field))) for field, kind in self.schema()
        )

    @classmethod
    def schema(cls) -> tuple[tuple[str, FieldType], ...]:
        """``(field, type)`` pairs in attribute order (computed once per class).

        Raises:
            InvalidEventDeclaration: no valid ``event_name``, or a field type
                other than ``int``, ``bytes`` or ``str``.
        """
        cached = _SCHEMAS.get(cls)
        if cached is None:
            cached = _SCHEMAS[cls] = _schema_of(cls)
        return cached

    def to_event(self, module: str) -> Event:
        """The ledger event this struct records for ``module``."""
        return Event(module=module, name=self.event_name, attributes=self.attributes())


_SCHEMAS: dict[type, tuple[tuple[str, FieldType], ...]] = {}


def _schema_of(cls: type[EventStruct]) -> tuple[tuple[str, FieldType], ...]:
    name = cls.__dict__.get("event_name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidEventDeclaration(
            f"event class {cls.__qualname__} needs its own class-level event_name matching "
            f"{_NAME.pattern}, got {name!r}"
        )
    hints = typing.get_type_hints(cls)
    fields: list[tuple[str, FieldType]] = []
    for field in cls.__struct_fields__:
        kind = _field_type(hints[field])
        if kind is None:
            raise InvalidEventDeclaration(
                f"event {name} field {field}: type {hints[field]!r} is not int, bytes or str"
            )
        fields.append((field, kind))
    return tuple(fields)


def _field_type(hint: Any) -> FieldType | None:
    """The published type of a field annotation, None if events may not carry it."""
    if isinstance(hint, type) and not issubclass(hint, bool):
        for base, kind in FIELD_TYPES.items():
            if issubclass(hint, base):
                return kind
    return None


def _text(event: str, field_name: str, kind: FieldType, value: object) -> str:
    """One attribute value as ledger text, checked against its declared ``kind``."""
    if kind == "uint" and type(value) is int and value >= 0:
        return str(value)
    if kind == "bytes" and isinstance(value, bytes):
        return value.hex()
    if kind == "string" and isinstance(value, str):
        return value
    raise InvalidEventDeclaration(
        f"event {event} field {field_name} is declared {kind}, got {value!r}"
    )


def validate_declarations(module: str, events: Iterable[type[EventStruct]]) -> frozenset[type]:
    """Check a module's event table; returns the declared classes.

    Raises:
        InvalidEventDeclaration: an entry is not an :class:`EventStruct`
            subclass, or two entries share an event name.
    """
    seen: dict[str, type] = {}
    for cls in events:
        if not (isinstance(cls, type) and issubclass(cls, EventStruct) and cls is not EventStruct):
            raise InvalidEventDeclaration(
                f"module {module} declares {cls!r} as an event; events are EventStruct subclasses"
            )
        cls.schema()
        if cls.event_name in seen and seen[cls.event_name] is not cls:
            raise InvalidEventDeclaration(
                f"module {module} declares two events named {cls.event_name}"
            )
        seen[cls.event_name] = cls
    return frozenset(seen.values())


def event_schema(events: Iterable[type[EventStruct]]) -> dict[str, list[dict[str, str]]]:
    """``{event name: [{"name": field, "type": uint|bytes|string}, ...]}``, names sorted."""
    return {
        cls.event_name: [{"name": f, "type": t} for f, t in cls.schema()]
        for cls in sorted(events, key=lambda c: c.event_name)
    }
