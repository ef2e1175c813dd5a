"""Proof encoding, decoding of hostile bytes, and standalone verification."""

from __future__ import annotations

import lmdb
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consortia.state import (
    EMPTY_ROOT,
    InvalidProof,
    StateError,
    StateProof,
    StateTree,
    check_proof,
    verify_proof,
)

from .conftest import HashFn, naive_root, sha256
from .tamper import tampered

proofs = st.builds(
    StateProof,
    depth=st.integers(0, 300),
    bitmap=st.binary(max_size=40),
    siblings=st.binary(max_size=200),
    leaf_key_hash=st.none() | st.binary(min_size=0, max_size=40),
    leaf_value_hash=st.none() | st.binary(min_size=0, max_size=40),
)


def _filled(env: lmdb.Environment, hash_fn: HashFn, count: int) -> tuple[StateTree, bytes]:
    tree = StateTree(env, hash_fn)
    with env.begin(write=True) as txn:
        root = tree.apply(txn, 0, {b"key-%d" % i: b"value-%d" % i for i in range(count)})
    return tree, root


def test_round_trip_and_verify(env: lmdb.Environment, hash_fn: HashFn) -> None:
    tree, root = _filled(env, hash_fn, 300)
    assert root == naive_root(hash_fn, {b"key-%d" % i: b"value-%d" % i for i in range(300)})
    with env.begin() as txn:
        for i in range(0, 600, 7):
            key = b"key-%d" % i
            value = b"value-%d" % i if i < 300 else None
            proof = tree.prove(txn, key, 0)
            encoded = proof.to_bytes()
            assert StateProof.from_bytes(encoded) == proof
            assert StateProof.from_bytes(bytearray(encoded)) == proof
            assert verify_proof(hash_fn, root, key, value, proof)
            for what, bad in tampered(proof):
                assert not verify_proof(hash_fn, root, key, value, bad), what


def test_empty_tree_proof(env: lmdb.Environment, hash_fn: HashFn) -> None:
    tree = StateTree(env, hash_fn)
    with env.begin(write=True) as txn:
        assert tree.apply(txn, 0, {}) == EMPTY_ROOT
    with env.begin() as txn:
        proof = tree.prove(txn, b"anything", 0)
    assert proof == StateProof(0, b"", b"", None, None)
    assert verify_proof(hash_fn, EMPTY_ROOT, b"anything", None, proof)
    assert not verify_proof(hash_fn, EMPTY_ROOT, b"anything", b"x", proof)


def test_single_key_tree_proofs(env: lmdb.Environment, hash_fn: HashFn) -> None:
    tree = StateTree(env, hash_fn)
    with env.begin(write=True) as txn:
        root = tree.apply(txn, 0, {b"only": b"one"})
    with env.begin() as txn:
        present = tree.prove(txn, b"only", 0)
        absent = tree.prove(txn, b"other", 0)
    assert present.depth == 0
    assert verify_proof(hash_fn, root, b"only", b"one", present)
    assert verify_proof(hash_fn, root, b"other", None, absent)
    assert not verify_proof(hash_fn, root, b"only", None, absent)


def test_encoding_is_a_msgpack_array() -> None:
    proof = StateProof(1, b"\x80", b"\x11" * 32, b"\x22" * 32, b"\x33" * 32)
    assert msgspec.msgpack.decode(proof.to_bytes()) == [
        1,
        b"\x80",
        b"\x11" * 32,
        b"\x22" * 32,
        b"\x33" * 32,
    ]


@pytest.mark.parametrize(
    "bad",
    [
        StateProof(9, b"\x00", b"", None, None),  # bitmap too short for depth
        StateProof(1, b"\x40", b"", None, None),  # bit past depth
        StateProof(1, b"\x80", b"", None, None),  # sibling missing
        StateProof(1, b"\x80", bytes(32), None, None),  # explicit placeholder
        StateProof(0, b"", b"", b"\x01" * 32, None),  # half a leaf
        StateProof(0, b"", b"", b"\x01" * 31, b"\x01" * 32),  # short hash
        StateProof(257, b"\x00" * 33, b"", None, None),  # too deep
        StateProof(-1, b"", b"", None, None),
    ],
)
def test_malformed_proofs_rejected(bad: StateProof) -> None:
    with pytest.raises(StateError):
        StateProof.from_bytes(bad.to_bytes())
    assert not verify_proof(sha256, EMPTY_ROOT, b"k", None, bad)


def test_non_canonical_encoding_rejected() -> None:
    canonical = StateProof(5, b"\x00", b"", None, None).to_bytes()
    assert canonical[:2] == b"\x95\x05"
    with pytest.raises(StateError):
        StateProof.from_bytes(b"\x95\xcc\x05" + canonical[2:])  # depth as uint8


def test_trailing_bytes_rejected() -> None:
    encoded = StateProof(0, b"", b"", None, None).to_bytes()
    with pytest.raises(StateError):
        StateProof.from_bytes(encoded + b"\x00")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_from_bytes_on_random_bytes_raises_state_error_only(data: bytes) -> None:
    try:
        proof = StateProof.from_bytes(data)
    except StateError:
        return
    assert proof.check_shape() is None


@settings(max_examples=300, deadline=None)
@given(proofs)
def test_from_bytes_on_structured_garbage(proof: StateProof) -> None:
    try:
        decoded = StateProof.from_bytes(proof.to_bytes())
    except StateError:
        assert proof.check_shape() is not None
        return
    assert decoded == proof
    assert verify_proof(sha256, EMPTY_ROOT, b"k", None, decoded) in (True, False)


def test_from_bytes_rejects_non_bytes() -> None:
    with pytest.raises(StateError):
        StateProof.from_bytes("not bytes")  # type: ignore[arg-type]


def test_check_proof_raises_invalid_proof(env: lmdb.Environment) -> None:
    tree, root = _filled(env, sha256, 10)
    with env.begin() as txn:
        proof = tree.prove(txn, b"key-1", 0)
    check_proof(sha256, root, b"key-1", b"value-1", proof)
    with pytest.raises(InvalidProof) as caught:
        check_proof(sha256, root, b"key-1", b"value-2", proof)
    assert caught.value.code == "STATE_INVALID_PROOF"
