"""Bytecode reachability: which instructions of EVM code can execute.

Used by the ``selfdestruct`` check, which must not flag PUSH data, data
sections or solc's CBOR metadata tail as a SELFDESTRUCT opcode.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

__all__ = ["SELFDESTRUCT", "reachable_opcodes"]

_PUSH1: Final = 0x60
_PUSH32: Final = 0x7F
_JUMPDEST: Final = 0x5B
SELFDESTRUCT: Final = 0xFF
"""The SELFDESTRUCT opcode."""
_TERMINATORS: Final = frozenset({0x00, 0x56, 0xF3, 0xFD, 0xFE, 0xFF})
"""STOP, JUMP, RETURN, REVERT, INVALID, SELFDESTRUCT: what follows is dead until a JUMPDEST."""


def _strip_metadata(code: bytes) -> bytes:
    """Drop a trailing CBOR metadata block (solc; length in the last two bytes)."""
    if len(code) < 2:
        return code
    size = int.from_bytes(code[-2:], "big")
    start = len(code) - 2 - size
    if size > 0 and start >= 0 and 0x80 <= code[start] <= 0xBF:
        return code[:start]
    return code


def reachable_opcodes(code: bytes) -> Iterator[tuple[int, int]]:
    """``(offset, opcode)`` of each instruction that can execute in ``code``.

    A linear sweep that skips PUSH immediates, ignores the CBOR metadata tail
    and treats bytes after a terminating instruction as data until the next
    JUMPDEST (the only place a jump can land), so data sections and
    metadata are not mistaken for instructions.
    """
    code = _strip_metadata(code)
    live = True
    i = 0
    while i < len(code):
        op = code[i]
        if op == _JUMPDEST:
            live = True
        if live:
            yield i, op
            if op in _TERMINATORS:
                live = False
        if _PUSH1 <= op <= _PUSH32:
            i += op - _PUSH1 + 1
        i += 1
