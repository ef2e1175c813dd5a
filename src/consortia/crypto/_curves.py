"""Domain parameters of the three curves and the small amount of point arithmetic we need.

Parameters: sm2p256v1 (GB/T 32918.5), P-256 (FIPS 186-4 D.1.2.3), secp256k1 (SEC 2 2.4.1).
All three have cofactor 1 and p = 3 (mod 4), so a point on the curve is in the group
and square roots are ``pow(v, (p + 1) // 4, p)``. The pure-Python scalar multiplication is
used only where speed does not matter (deriving a public key in the GmSSL backend,
checking key pairs); it is not constant-time and never touches signing nonces.
"""

from __future__ import annotations

from dataclasses import dataclass

from consortia.crypto.errors import InvalidKey
from consortia.crypto.key_type import KeyType

__all__ = ["CURVES", "Curve", "curve_for_oid"]


@dataclass(frozen=True, slots=True)
class Curve:
    """Short-Weierstrass curve y^2 = x^3 + ax + b over GF(p) with base point (gx, gy) of order n."""

    key_type: KeyType
    """Key type that uses this curve."""
    oid: str
    """Named-curve OID as used in PKCS#8 / SubjectPublicKeyInfo."""
    p: int
    """Field prime."""
    a: int
    """Coefficient a."""
    b: int
    """Coefficient b."""
    gx: int
    """Base point x."""
    gy: int
    """Base point y."""
    n: int
    """Group order."""

    def is_on_curve(self, x: int, y: int) -> bool:
        """Return whether (x, y) is a finite point of this curve with coordinates in [0, p)."""
        p = self.p
        if not (0 <= x < p and 0 <= y < p):
            return False
        return (y * y - (x * x * x + self.a * x + self.b)) % p == 0

    def decode_point(self, data: bytes) -> tuple[int, int]:
        """Decode a SEC1 point (65-byte uncompressed or 33-byte compressed) and validate it.

        Raises:
            InvalidKey: wrong length or prefix, or not a point of the curve.
        """
        if len(data) == 65 and data[0] == 0x04:
            x = int.from_bytes(data[1:33], "big")
            y = int.from_bytes(data[33:], "big")
        elif len(data) == 33 and data[0] in (0x02, 0x03):
            x = int.from_bytes(data[1:], "big")
            if x >= self.p:
                raise InvalidKey(f"{self.key_type} public key: x is not a field element")
            rhs = (x * x * x + self.a * x + self.b) % self.p
            y = pow(rhs, (self.p + 1) // 4, self.p)
            if (y * y) % self.p != rhs:
                raise InvalidKey(f"{self.key_type} public key: x has no point on the curve")
            if (y & 1) != (data[0] & 1):
                y = self.p - y
        else:
            raise InvalidKey(
                f"{self.key_type} public key must be 65 bytes (04||x||y) or 33 bytes "
                f"(02/03||x), got {len(data)} bytes"
            )
        if not self.is_on_curve(x, y):
            raise InvalidKey(f"{self.key_type} public key is not a point on the curve")
        return x, y

    def check_scalar(self, d: int) -> None:
        """Check that ``d`` is a valid private scalar (SM2 also excludes n - 1, GB/T 32918.1 6.1).

        Raises:
            InvalidKey: out of range.
        """
        upper = self.n - 1 if self.key_type is KeyType.SM2 else self.n
        if not 1 <= d < upper:
            raise InvalidKey(f"{self.key_type} private key scalar is out of range")

    def multiply_base(self, d: int) -> bytes:
        """Return d*G as a 65-byte uncompressed point (slow, pure Python, variable time)."""
        x, y = self._to_affine(self._mul(d, (self.gx, self.gy, 1)))
        return b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")

    # Jacobian coordinates (X, Y, Z) with x = X/Z^2, y = Y/Z^3; Z == 0 is infinity.
    def _double(self, pt: tuple[int, int, int]) -> tuple[int, int, int]:
        x1, y1, z1 = pt
        p = self.p
        if z1 == 0 or y1 == 0:
            return (0, 1, 0)
        s = 4 * x1 * y1 * y1 % p
        z2 = z1 * z1 % p
        m = (3 * x1 * x1 + self.a * z2 * z2) % p
        x3 = (m * m - 2 * s) % p
        y3 = (m * (s - x3) - 8 * y1**4) % p
        z3 = 2 * y1 * z1 % p
        return (x3, y3, z3)

    def _add(self, p1: tuple[int, int, int], p2: tuple[int, int, int]) -> tuple[int, int, int]:
        x1, y1, z1 = p1
        x2, y2, z2 = p2
        p = self.p
        if z1 == 0:
            return p2
        if z2 == 0:
            return p1
        z1s, z2s = z1 * z1 % p, z2 * z2 % p
        u1, u2 = x1 * z2s % p, x2 * z1s % p
        s1, s2 = y1 * z2s * z2 % p, y2 * z1s * z1 % p
        if u1 == u2:
            return self._double(p1) if s1 == s2 else (0, 1, 0)
        h, r = (u2 - u1) % p, (s2 - s1) % p
        h2 = h * h % p
        h3 = h2 * h % p
        x3 = (r * r - h3 - 2 * u1 * h2) % p
        y3 = (r * (u1 * h2 - x3) - s1 * h3) % p
        z3 = h * z1 * z2 % p
        return (x3, y3, z3)

    def _mul(self, k: int, pt: tuple[int, int, int]) -> tuple[int, int, int]:
        acc: tuple[int, int, int] = (0, 1, 0)
        for bit in bin(k)[2:]:
            acc = self._double(acc)
            if bit == "1":
                acc = self._add(acc, pt)
        return acc

    def _to_affine(self, pt: tuple[int, int, int]) -> tuple[int, int]:
        x, y, z = pt
        if z == 0:
            raise InvalidKey("point at infinity")
        zi = pow(z, -1, self.p)
        zi2 = zi * zi % self.p
        return x * zi2 % self.p, y * zi2 * zi % self.p


SM2P256V1 = Curve(
    key_type=KeyType.SM2,
    oid="1.2.156.10197.1.301",
    p=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF,
    a=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC,
    b=0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93,
    gx=0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
    gy=0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0,
    n=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123,
)
P256 = Curve(
    key_type=KeyType.P256,
    oid="1.2.840.10045.3.1.7",
    p=0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF,
    a=0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC,
    b=0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
    gx=0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    gy=0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
    n=0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
)
SECP256K1 = Curve(
    key_type=KeyType.SECP256K1,
    oid="1.3.132.0.10",
    p=0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F,
    a=0,
    b=7,
    gx=0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
    gy=0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8,
    n=0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
)

CURVES: dict[KeyType, Curve] = {c.key_type: c for c in (SM2P256V1, P256, SECP256K1)}
"""Curve of each key type."""


def curve_for_oid(oid: str) -> Curve:
    """Return the curve named by ``oid``.

    Raises:
        InvalidKey: the OID names no curve we support.
    """
    for curve in CURVES.values():
        if curve.oid == oid:
            return curve
    raise InvalidKey(f"unsupported elliptic curve OID {oid}")
