"""Binary Merkle trees over ordered leaves, with audit-path proofs.

Follows RFC 6962 §2.1 (Certificate Transparency): leaf hash
``H(0x00 || leaf)``, node hash ``H(0x01 || left || right)``, a tree of n > 1
leaves splits at the largest power of two below n, and the empty tree's root
is ``H(b"")``. The hash is the chain suite's (SM3 or SHA-256). Used for
transaction and receipt roots; account state uses ``consortia.state``.
"""

from __future__ import annotations

from collections.abc import Sequence

from consortia.codec import U64, Canonical, Hash32
from consortia.ledger.types import Hasher


class MerkleProof(Canonical, frozen=True):
    """Audit path of leaf ``index`` in a tree of ``size`` leaves (siblings bottom-up)."""

    index: U64
    size: U64
    siblings: tuple[Hash32, ...]


def _split(n: int) -> int:
    """Largest power of two strictly below ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def leaf_hash(hash_fn: Hasher, leaf: bytes) -> bytes:
    """Hash of one leaf, domain-separated from inner nodes."""
    return hash_fn(b"\x00" + leaf)


def node_hash(hash_fn: Hasher, left: bytes, right: bytes) -> bytes:
    """Hash of an inner node."""
    return hash_fn(b"\x01" + left + right)


def merkle_root(hash_fn: Hasher, leaves: Sequence[bytes]) -> bytes:
    """Root of the tree over ``leaves``; computed bottom-up level by level."""
    if not leaves:
        return hash_fn(b"")
    level = [leaf_hash(hash_fn, leaf) for leaf in leaves]
    return _root_of_hashes(hash_fn, level)


def _root_of_hashes(hash_fn: Hasher, nodes: list[bytes]) -> bytes:
    # RFC 6962's split-at-power-of-two tree equals pairing left to right and
    # promoting an odd last node unchanged, level by level.
    while len(nodes) > 1:
        paired = [node_hash(hash_fn, nodes[i], nodes[i + 1]) for i in range(0, len(nodes) - 1, 2)]
        if len(nodes) % 2:
            paired.append(nodes[-1])
        nodes = paired
    return nodes[0]


def merkle_proof(hash_fn: Hasher, leaves: Sequence[bytes], index: int) -> MerkleProof:
    """Audit path for ``leaves[index]``.

    Raises:
        IndexError: ``index`` is outside ``leaves``.
    """
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf index {index} outside tree of {len(leaves)} leaves")
    siblings: list[bytes] = []
    hashes = [leaf_hash(hash_fn, leaf) for leaf in leaves]
    lo, hi, target = 0, len(hashes), index
    path: list[tuple[int, int, int]] = []
    while hi - lo > 1:
        k = _split(hi - lo)
        path.append((lo, hi, k))
        if target - lo < k:
            hi = lo + k
        else:
            lo = lo + k
    for lo, hi, k in reversed(path):
        if index - lo < k:
            siblings.append(_root_of_hashes(hash_fn, hashes[lo + k : hi]))
        else:
            siblings.append(_root_of_hashes(hash_fn, hashes[lo : lo + k]))
    return MerkleProof(index=index, size=len(leaves), siblings=tuple(siblings))


def verify_merkle_proof(hash_fn: Hasher, root: bytes, leaf: bytes, proof: MerkleProof) -> bool:
    """True iff ``leaf`` is at ``proof.index`` of a ``proof.size``-leaf tree with ``root``.

    Implements the RFC 9162 §2.1.3.2 inclusion verification algorithm.
    """
    index, size = proof.index, proof.size
    if index >= size:
        return False
    fn, sn = index, size - 1
    digest = leaf_hash(hash_fn, leaf)
    for sibling in proof.siblings:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            digest = node_hash(hash_fn, sibling, digest)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            digest = node_hash(hash_fn, digest, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and digest == root
