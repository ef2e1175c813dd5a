"""Length-prefixed frames over a byte stream ([NET-FRAME.1]).

A frame is a 4-byte big-endian length followed by that many bytes of one
canonical wire message. A declared length above the limit closes the
connection before anything is read or allocated.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Final

from consortia.network.errors import FrameTooLarge

MAX_FRAME: Final = 32 * 1024 * 1024
"""Largest frame: a full block (policy caps payloads at 8 MiB) with room to spare."""
_HEADER: Final = struct.Struct(">I")


async def read_frame(reader: asyncio.StreamReader, limit: int = MAX_FRAME) -> bytes:
    """Read one frame; raises FrameTooLarge or asyncio.IncompleteReadError."""
    (length,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    if length > limit:
        raise FrameTooLarge(f"peer announced a {length}-byte frame; limit is {limit}")
    return await reader.readexactly(length)


def encode_frame(payload: bytes) -> bytes:
    """Header and payload of one frame."""
    if len(payload) > MAX_FRAME:
        raise FrameTooLarge(f"refusing to send a {len(payload)}-byte frame")
    return _HEADER.pack(len(payload)) + payload
