"""Filler accounts: a large authenticated state for ``consortia bench run --state-accounts N``.

Filler ``i`` is an account with one real public key of the run's native key
type: its secret scalar is derived from the index alone,

    d_i = 1 + (SHA-256(b"bench-filler" || u64_be(i)) mod (u - 1))

where ``u`` is the first scalar the key type refuses (``n - 1`` for sm2,
GB/T 32918.1 6.1, and ``n`` otherwise), so ``1 <= d_i < u`` and
``PrivateKey.from_secret`` accepts it. Its address is the key's address. Reruns
therefore put the same fillers in the genesis, and :func:`filler_key` gives
anyone the key of filler ``i``.

Deriving a public key is one fixed-base scalar multiplication d_i * G. Keys are
derived in chunks in worker processes. P-256 uses ``cryptography`` and secp256k1
``coincurve`` (OpenSSL and libsecp256k1, 20 - 30 µs a key); for sm2 the libraries
at hand use a generic Montgomery ladder (about 300 µs a key through Tongsuo), so
sm2 points come from a fixed-base comb over a table of affine multiples of G in
pure Python: 22 affine additions a key, all keys of a chunk added in lock step
so that one modular inversion (Montgomery's trick) serves the whole chunk
(about 70 µs a key). Every point, however derived, is then parsed and checked
to lie on its curve by ``PublicKey.from_bytes``, which also gives the address;
tests compare the comb with ``PrivateKey.from_secret``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from typing import Final

import coincurve
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from consortia.crypto import KeyType, PrivateKey, PublicKey, sha256
from consortia.crypto._curves import CURVES
from consortia.modules.accounts.types import AccountKey, GenesisAccount

__all__ = ["FILLER_TAG", "filler_accounts", "filler_key", "filler_points", "filler_secret"]

FILLER_TAG: Final = b"bench-filler"
"""Domain tag of the filler secrets."""
CHUNK: Final = 20_000
"""Most fillers one worker task derives."""
_RECORD: Final = 20 + 65
"""A derived filler as a worker returns it: address || uncompressed point."""

_WINDOW: Final = 12
"""Bits of the scalar per comb step (the table holds 2^12 - 1 points per step)."""
_STEPS: Final = math.ceil(256 / _WINDOW)

Affine = tuple[int, int]


def filler_secret(key_type: KeyType, index: int) -> int:
    """The secret scalar of filler ``index`` (see the module docstring).

    Raises:
        ValueError: ``index`` is negative or does not fit in 64 bits.
    """
    if not 0 <= index < 1 << 64:
        raise ValueError(f"filler index must be in [0, 2^64), got {index}")
    curve = CURVES[key_type]
    upper = curve.n - 1 if key_type is KeyType.SM2 else curve.n
    digest = sha256(FILLER_TAG + index.to_bytes(8, "big"))
    return 1 + int.from_bytes(digest, "big") % (upper - 1)


def filler_key(key_type: KeyType, index: int) -> PrivateKey:
    """The private key of filler ``index`` (slow for sm2: one key at a time)."""
    return PrivateKey.from_secret(key_type, filler_secret(key_type, index).to_bytes(32, "big"))


# ------------------------------------------------------------------ sm2: a fixed-base comb


def _invert_all(values: Sequence[int], p: int) -> list[int]:
    """Inverses mod ``p`` of non-zero ``values`` with one modular inversion (Montgomery)."""
    prefix = [1] * len(values)
    acc = 1
    for i, v in enumerate(values):
        prefix[i] = acc
        acc = acc * v % p
    inv = pow(acc, -1, p)
    out = [0] * len(values)
    for i in range(len(values) - 1, -1, -1):
        out[i] = inv * prefix[i] % p
        inv = inv * values[i] % p
    return out


def _add_all(left: Sequence[Affine], right: Sequence[Affine], p: int) -> list[Affine]:
    """Pairwise affine sums; every pair must have distinct x (neither equal nor opposite).

    Raises:
        ValueError: a pair shares its x (the product of the differences is not invertible).
    """
    inverses = _invert_all([(q[0] - r[0]) % p for r, q in zip(left, right, strict=True)], p)
    out: list[Affine] = []
    for (x1, y1), (x2, y2), inv in zip(left, right, inverses, strict=True):
        slope = (y2 - y1) * inv % p
        x3 = (slope * slope - x1 - x2) % p
        out.append((x3, (slope * (x1 - x3) - y1) % p))
    return out


def _double(point: Affine, a: int, p: int) -> Affine:
    x, y = point
    slope = (3 * x * x + a) * pow(2 * y, -1, p) % p
    x3 = (slope * slope - 2 * x) % p
    return x3, (slope * (x - x3) - y) % p


@cache
def _sm2_table() -> tuple[tuple[Affine, ...], ...]:
    """``table[j][v - 1] = v * 2^(12 j) * G`` for v in 1 .. 4095, j in 0 .. 21 (affine)."""
    curve = CURVES[KeyType.SM2]
    p, a = curve.p, curve.a
    bases: list[Affine] = [(curve.gx, curve.gy)]
    for _ in range(1, _STEPS):
        point = bases[-1]
        for _ in range(_WINDOW):
            point = _double(point, a, p)
        bases.append(point)
    rows: list[list[Affine]] = [[base, _double(base, a, p)] for base in bases]
    # (v - 1) * B + B with 3 <= v < 2^12 < n: the two points are never equal or opposite.
    for _ in range(3, 1 << _WINDOW):
        sums = _add_all([row[-1] for row in rows], bases, p)
        for row, point in zip(rows, sums, strict=True):
            row.append(point)
    return tuple(tuple(row) for row in rows)


def _sm2_points(secrets: Sequence[int]) -> list[bytes]:
    """``d * G`` on sm2p256v1 for every d (1 <= d < n), as 65-byte uncompressed points.

    d = sum of v_j * 2^(12 j); step j adds t * G = ``table[j][v_j - 1]`` to every
    key's running sum s * G at once. The affine formula needs s != +-t (mod n),
    and that always holds: 0 < s < 2^(12 j) <= t and s + t <= d < n, so both
    t - s and s + t lie strictly between 0 and n.
    """
    p = CURVES[KeyType.SM2].p
    table = _sm2_table()
    mask = (1 << _WINDOW) - 1
    sums: list[Affine | None] = [None] * len(secrets)
    for step, row in enumerate(table):
        shift = step * _WINDOW
        who: list[int] = []
        left: list[Affine] = []
        right: list[Affine] = []
        for k, d in enumerate(secrets):
            digit = (d >> shift) & mask
            if digit == 0:
                continue
            current = sums[k]
            if current is None:
                sums[k] = row[digit - 1]
            else:
                who.append(k)
                left.append(current)
                right.append(row[digit - 1])
        if who:
            for k, point in zip(who, _add_all(left, right, p), strict=True):
                sums[k] = point
    out: list[bytes] = []
    for total in sums:
        assert total is not None, "a secret in [1, n) has a non-zero digit"
        out.append(b"\x04" + total[0].to_bytes(32, "big") + total[1].to_bytes(32, "big"))
    return out


# ------------------------------------------------------------------ every key type

_P256 = ec.SECP256R1()


def filler_points(key_type: KeyType, start: int, stop: int) -> list[bytes]:
    """Uncompressed public points of fillers ``start`` .. ``stop - 1``, in order."""
    secrets = [filler_secret(key_type, i) for i in range(start, stop)]
    if key_type is KeyType.SM2:
        return _sm2_points(secrets)
    if key_type is KeyType.P256:
        return [
            ec.derive_private_key(d, _P256)
            .public_key()
            .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
            for d in secrets
        ]
    return [
        bytes(coincurve.PublicKey.from_secret(d.to_bytes(32, "big")).format(compressed=False))
        for d in secrets
    ]


def _chunk(key_type: str, start: int, stop: int) -> bytes:
    """Worker task: address || point of fillers ``start`` .. ``stop - 1``, each point checked."""
    kind = KeyType(key_type)
    records: list[bytes] = []
    for point in filler_points(kind, start, stop):
        public = PublicKey.from_bytes(kind, point)
        records.append(public.address() + public.to_bytes())
    return b"".join(records)


def filler_accounts(
    key_type: KeyType, count: int, *, workers: int | None = None
) -> tuple[GenesisAccount, ...]:
    """Genesis accounts of fillers 0 .. ``count - 1``, derived in ``workers`` processes.

    Parameters:
        workers: worker processes (default: one per CPU); 1 derives in this process.

    Raises:
        ValueError: ``count`` is negative.
    """
    if count < 0:
        raise ValueError(f"filler count must be >= 0, got {count}")
    if count == 0:
        return ()
    workers = max(1, os.cpu_count() or 1) if workers is None else max(1, workers)
    size = min(CHUNK, math.ceil(count / workers))
    spans = [(start, min(start + size, count)) for start in range(0, count, size)]
    if workers == 1 or len(spans) == 1:
        blobs = [_chunk(key_type.value, start, stop) for start, stop in spans]
    else:
        with ProcessPoolExecutor(min(workers, len(spans))) as pool:
            futures = [pool.submit(_chunk, key_type.value, start, stop) for start, stop in spans]
            blobs = [f.result() for f in futures]
    name = key_type.value
    accounts: list[GenesisAccount] = []
    for blob in blobs:
        for at in range(0, len(blob), _RECORD):
            accounts.append(
                GenesisAccount(
                    address=blob[at : at + 20],
                    keys=(AccountKey(key_type=name, public_key=blob[at + 20 : at + _RECORD]),),
                )
            )
    return tuple(accounts)
