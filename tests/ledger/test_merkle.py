"""RFC 6962 Merkle roots and audit paths ([LEDGER-ROOT.*] in docs/spec/ledger.md)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consortia.ledger.merkle import MerkleProof, merkle_proof, merkle_root, verify_merkle_proof


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# --- reference: RFC 6962 §2.1 written as directly as the RFC states it ---------


def ref_mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]): the Merkle Tree Hash, recursively, splitting at the largest 2^k < n."""
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return sha256(b"\x00" + leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return sha256(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:]))


def ref_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 §2.1.1 (siblings bottom-up)."""
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*ref_path(m, leaves[:k]), ref_mth(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), ref_mth(leaves[:k])]


def ref_shape(m: int, n: int) -> list[bool]:
    """Bottom-up list of 'sibling is on the left' for leaf m of an n-leaf tree."""
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*ref_shape(m, k), False]
    return [*ref_shape(m - k, n - k), True]


unique_leaves = st.lists(st.binary(max_size=12), min_size=1, max_size=40, unique=True)


# --- Certificate Transparency test vectors -------------------------------------
# From google/trillian merkle/log_verifier_test.go (the CT reference vectors):
# leaves, the root of each prefix of 1..8 leaves, and inclusion proofs.

CT_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_EMPTY_ROOT = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = [  # (index, size, siblings)
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]


def test_ct_vector_empty_root() -> None:
    """[LEDGER-ROOT.1] the empty tree's root is H(b"")."""
    assert merkle_root(sha256, []).hex() == CT_EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 9))
def test_ct_vector_roots(size: int) -> None:
    assert merkle_root(sha256, CT_LEAVES[:size]).hex() == CT_ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "siblings"), CT_INCLUSION)
def test_ct_vector_inclusion(index: int, size: int, siblings: list[str]) -> None:
    leaves = CT_LEAVES[:size]
    proof = merkle_proof(sha256, leaves, index)
    assert [s.hex() for s in proof.siblings] == siblings
    assert verify_merkle_proof(sha256, bytes.fromhex(CT_ROOTS[size - 1]), leaves[index], proof)


# --- properties against the reference ------------------------------------------


@given(st.lists(st.binary(max_size=12), max_size=70))
def test_root_matches_rfc6962_reference(leaves: list[bytes]) -> None:
    assert merkle_root(sha256, leaves) == ref_mth(leaves)


@given(st.lists(st.binary(max_size=12), min_size=1, max_size=40))
def test_every_proof_matches_reference_and_verifies(leaves: list[bytes]) -> None:
    root = merkle_root(sha256, leaves)
    for index, leaf in enumerate(leaves):
        proof = merkle_proof(sha256, leaves, index)
        assert (proof.index, proof.size) == (index, len(leaves))
        assert list(proof.siblings) == ref_path(index, leaves)
        assert verify_merkle_proof(sha256, root, leaf, proof)


def test_proof_index_out_of_range() -> None:
    with pytest.raises(IndexError):
        merkle_proof(sha256, [b"a"], 1)
    with pytest.raises(IndexError):
        merkle_proof(sha256, [], 0)


@given(unique_leaves, st.data())
def test_tampered_proofs_fail(leaves: list[bytes], data: st.DataObject) -> None:
    root = merkle_root(sha256, leaves)
    index = data.draw(st.integers(0, len(leaves) - 1))
    proof = merkle_proof(sha256, leaves, index)
    leaf = leaves[index]

    def verify(leaf_: bytes = leaf, root_: bytes = root, **changes: object) -> bool:
        fields = {"index": proof.index, "size": proof.size, "siblings": proof.siblings}
        fields.update(changes)
        return verify_merkle_proof(sha256, root_, leaf_, MerkleProof(**fields))  # type: ignore[arg-type]

    assert verify()
    # another leaf, or the same leaf at another index
    other = data.draw(st.binary(max_size=12).filter(lambda b: b != leaf))
    assert not verify(leaf_=other)
    other_index = data.draw(st.integers(0, len(leaves) + 2).filter(lambda i: i != index))
    assert not verify(index=other_index)
    # wrong root
    assert not verify(root_=sha256(root))
    assert not verify(root_=merkle_root(sha256, [*leaves, b"extra-leaf"]))
    if proof.siblings:
        # one sibling byte flipped
        which = data.draw(st.integers(0, len(proof.siblings) - 1))
        bit = data.draw(st.integers(0, 255))
        sibling = bytearray(proof.siblings[which])
        sibling[bit % 32] ^= 1 << (bit % 8)
        changed = (*proof.siblings[:which], bytes(sibling), *proof.siblings[which + 1 :])
        assert not verify(siblings=changed)
        # a sibling missing (last, or first)
        assert not verify(siblings=proof.siblings[:-1])
        assert not verify(siblings=proof.siblings[1:])
    # an extra sibling, at the end or the front
    extra = data.draw(st.binary(min_size=32, max_size=32))
    assert not verify(siblings=(*proof.siblings, extra))
    assert not verify(siblings=(extra, *proof.siblings))
    assert not verify(siblings=(*proof.siblings, root))


@given(unique_leaves, st.data())
def test_other_size_verifies_only_for_identical_path_shape(
    leaves: list[bytes], data: st.DataObject
) -> None:
    """A root does not commit to its size ([LEDGER-ROOT.4]): verifiers must check ``size``.

    The same siblings verify for another size exactly when the audit path has the
    same shape (e.g. leaf 0 of 3 and of 4 leaves: [h1, h2] vs [h1, H(h2, h3)]).
    """
    root = merkle_root(sha256, leaves)
    index = data.draw(st.integers(0, len(leaves) - 1))
    proof = merkle_proof(sha256, leaves, index)
    size = data.draw(st.integers(0, 2 * len(leaves) + 2).filter(lambda s: s != len(leaves)))
    tampered = MerkleProof(index=index, size=size, siblings=proof.siblings)
    same_shape = index < size and ref_shape(index, size) == ref_shape(index, len(leaves))
    assert verify_merkle_proof(sha256, root, leaves[index], tampered) == same_shape


def test_size_is_not_committed_by_root_example() -> None:
    leaves = [b"a", b"b", b"c"]
    proof = merkle_proof(sha256, leaves, 0)
    as_four = MerkleProof(index=0, size=4, siblings=proof.siblings)
    assert verify_merkle_proof(sha256, merkle_root(sha256, leaves), b"a", as_four)


def test_empty_and_degenerate_proofs_fail() -> None:
    root = merkle_root(sha256, [b"a"])
    assert verify_merkle_proof(sha256, root, b"a", MerkleProof(index=0, size=1, siblings=()))
    assert not verify_merkle_proof(sha256, root, b"a", MerkleProof(index=0, size=0, siblings=()))
    assert not verify_merkle_proof(sha256, root, b"a", MerkleProof(index=1, size=1, siblings=()))
    assert not verify_merkle_proof(
        sha256, sha256(b""), b"", MerkleProof(index=0, size=0, siblings=())
    )
