"""Fetching a chain from a node's API for verification (raw canonical bytes only).

The verifier never uses the node's JSON rendering: it asks for the canonical
bytes of the genesis, of each block and of each certificate, and checks them
itself. The node is not trusted for anything else either: every answer is
size-capped and parsed with a depth-limited decoder, and a missing field, bad
hex or non-canonical bytes is a :class:`NodeReplyMalformed`, never a crash.

"Whole" over ``--rpc`` means every block up to the node's committed height
as read once, when verification begins (:attr:`RemoteChain.top`); blocks the
node commits later are not part of the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, TypeVar

import httpx
import msgspec

from consortia.codec import CodecError, decode
from consortia.genesis import Genesis
from consortia.ledger.types import Block, EpochStart, QuorumCert
from consortia.verify.errors import ChainIncomplete, NodeReplyMalformed
from consortia.verify.export import MAX_BLOCK_RECORD, MAX_HEADER_RECORD

_SMALL_REPLY: Final = 64 * 1024
_T = TypeVar("_T")


class _GenesisReply(msgspec.Struct):
    genesis: str


class _StatusReply(msgspec.Struct):
    height: int


class _EpochReply(msgspec.Struct):
    raw: str


class _BlockReply(msgspec.Struct):
    block: str
    certificate: str | None = None


@dataclass(frozen=True)
class RemoteChain:
    """What a node serves for verification, read from its API."""

    genesis: Genesis
    top: int
    """The node's committed height when verification began: the end of a whole run."""
    epochs: dict[int, EpochStart]
    """The start of every epoch after the first."""
    records: Iterator[tuple[Block, QuorumCert | None]]
    """Blocks from height 0 to ``top`` (or ``up_to``), fetched lazily."""


def _get(
    client: httpx.Client, path: str, type_: type[_T], limit: int, *, missing_ok: bool = False
) -> _T | None:
    """GET ``path`` as ``type_``: at most ``limit`` bytes, parsed without recursion blow-ups."""
    with client.stream("GET", path) as response:
        if missing_ok and response.status_code == 404:
            return None
        response.raise_for_status()
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                raise NodeReplyMalformed(f"{path}: the answer exceeds {limit} bytes")
    try:
        return msgspec.json.decode(bytes(body), type=type_)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
        raise NodeReplyMalformed(f"{path}: unexpected answer: {exc}") from None


def _raw(path: str, hex_text: str, type_: type[_T], height: int | None = None) -> _T:
    try:
        data = bytes.fromhex(hex_text.removeprefix("0x"))
        return decode(data, type_)
    except ValueError:
        raise NodeReplyMalformed(f"{path}: not hex", height) from None
    except CodecError as exc:
        raise NodeReplyMalformed(f"{path}: {exc.message}", height) from None
    except RecursionError:
        raise NodeReplyMalformed(f"{path}: nested too deeply", height) from None


def fetch_chain(url: str, *, up_to: int | None = None) -> RemoteChain:
    """Read the genesis, the committed height and the epochs now; blocks lazily.

    Raises:
        httpx.HTTPError: the node cannot be reached or answers with an error.
        NodeReplyMalformed: an answer is too large, lacks a field or is not canonical.
        ChainIncomplete: ``up_to`` is above the node's committed height.
    """
    client = httpx.Client(base_url=url.rstrip("/"), timeout=30)
    try:
        reply = _get(client, "/v1/genesis/raw", _GenesisReply, 2 * MAX_HEADER_RECORD + 1024)
        assert reply is not None
        genesis = _raw("/v1/genesis/raw", reply.genesis, Genesis)
        status = _get(client, "/v1/status", _StatusReply, _SMALL_REPLY)
        assert status is not None
        top = status.height
        if top < 0:
            raise NodeReplyMalformed(f"/v1/status: height {top}")
        if up_to is not None and up_to > top:
            raise ChainIncomplete(
                f"--up-to {up_to} is above the node's committed height {top}", top + 1
            )
        epochs: dict[int, EpochStart] = {}
        while True:
            path = f"/v1/epochs/{len(epochs) + 1}"
            epoch = _get(client, path, _EpochReply, 2 * MAX_BLOCK_RECORD, missing_ok=True)
            if epoch is None:
                break
            start = _raw(path, epoch.raw, EpochStart)
            if start.epoch != len(epochs) + 1 or len(epochs) > top:
                raise NodeReplyMalformed(f"{path}: epoch {start.epoch} out of sequence")
            epochs[start.epoch] = start
    except BaseException:
        client.close()
        raise
    last = top if up_to is None else up_to

    def records() -> Iterator[tuple[Block, QuorumCert | None]]:
        try:
            for height in range(last + 1):
                path = f"/v1/blocks/{height}/raw"
                data = _get(client, path, _BlockReply, 2 * MAX_BLOCK_RECORD + 1024)
                assert data is not None
                block = _raw(path, data.block, Block, height)
                cert = data.certificate
                certificate = None if cert is None else _raw(path, cert, QuorumCert, height)
                yield block, certificate
        finally:
            client.close()

    return RemoteChain(genesis=genesis, top=top, epochs=epochs, records=records())


__all__ = ["RemoteChain", "fetch_chain"]
