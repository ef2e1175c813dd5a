"""A signing identity: a private key and the account address it controls."""

from __future__ import annotations

from pathlib import Path

from consortia.crypto import KeyType, PrivateKey
from consortia.ledger.types import Transaction, TxBody, TxSignature, tx_signing_bytes


class Signer:
    """Signs transaction bodies for the account ``address`` of its key."""

    def __init__(self, key: PrivateKey) -> None:
        self._key = key
        self._public = key.public_key()
        self.address: bytes = self._public.address()
        """The account this key controls (its own address)."""

    @classmethod
    def from_pem_file(cls, path: str | Path) -> Signer:
        """Load a PKCS#8 PEM private key (raises CryptoError if it is not one)."""
        return cls(PrivateKey.from_pem(Path(path).read_bytes()))

    @classmethod
    def generate(cls, key_type: KeyType | str = KeyType.SM2) -> Signer:
        """A fresh random key."""
        return cls(PrivateKey.generate(KeyType(key_type)))

    @property
    def key(self) -> PrivateKey:
        """The private key."""
        return self._key

    @property
    def key_type(self) -> KeyType:
        """``sm2``, ``p256`` or ``secp256k1``."""
        return self._key.key_type

    @property
    def public_key(self) -> bytes:
        """SEC1 encoding of the public key."""
        return self._public.to_bytes()

    def sign(self, body: TxBody) -> Transaction:
        """The signed transaction of ``body``."""
        return Transaction(
            body=body,
            key_type=self.key_type.value,
            public_key=self.public_key,
            signature=self._key.sign(tx_signing_bytes(body)),
        )

    def sign_part(self, body: TxBody) -> TxSignature:
        """This key's signature of ``body`` as one entry of a multisig transaction."""
        return TxSignature(
            key_type=self.key_type.value,
            public_key=self.public_key,
            signature=self._key.sign(tx_signing_bytes(body)),
        )

    def __repr__(self) -> str:
        return f"Signer({self.key_type.value}, 0x{self.address.hex()})"
