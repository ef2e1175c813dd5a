"""Checking a state record offline: proof -> header.state_root, without trusting the node."""

from __future__ import annotations

from consortia.api.jsonable import from_plain, parse_hex, to_plain
from consortia.api.schemas import HeaderJson, StateJson
from consortia.crypto import get_suite
from consortia.ledger.types import BlockHeader, block_id
from consortia.state import StateError, StateProof, verify_proof


def header_from_json(header: HeaderJson) -> BlockHeader:
    """The canonical header a ``HeaderJson`` describes (to recompute its block id)."""
    return from_plain(to_plain(header), BlockHeader)


def explain_state_record(
    record: StateJson, suite: str, *, trusted_block_id: bytes | None = None
) -> str | None:
    """None if the record verifies, else what failed.

    Checks: the header is present; its ``state_height`` equals the record's
    ``version``; its ``state_root`` equals the record's ``root``; the proof
    shows ``key -> value`` (or absence) under that root; and, when
    ``trusted_block_id`` is given (e.g. from a QC you verified), that the
    header hashes to it.
    """
    header = record.header
    if header is None:
        return "no header commits to this state version yet"
    if header.state_height != record.version:
        return f"header state_height {header.state_height} != record version {record.version}"
    try:
        root = parse_hex(header.state_root)
        if parse_hex(record.root) != root:
            return "record root differs from the header's state_root"
        proof = StateProof.from_bytes(parse_hex(record.proof))
        key = parse_hex(record.key)
        value = None if record.value is None else parse_hex(record.value)
    except (ValueError, StateError) as exc:
        return f"malformed record: {exc}"
    hash_fn = get_suite(suite).hash
    if not verify_proof(hash_fn, root, key, value, proof):
        return "proof does not verify against the header's state_root"
    if trusted_block_id is not None:
        try:
            computed = block_id(hash_fn, header_from_json(header))
        except (ValueError, TypeError) as exc:
            return f"header does not decode: {exc}"
        if computed != trusted_block_id:
            return "header does not hash to the trusted block id"
    return None


def verify_state_record(
    record: StateJson, suite: str, *, trusted_block_id: bytes | None = None
) -> bool:
    """True iff :func:`explain_state_record` finds nothing wrong."""
    return explain_state_record(record, suite, trusted_block_id=trusted_block_id) is None
