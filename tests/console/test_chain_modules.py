"""The console's in-browser chain modules agree with the node's Python implementation.

The proofs page and the browser-held governance key rely on JavaScript ports of
the canonical encoding, the RFC 6962 Merkle tree, the sparse-Merkle state proof
and key handling, over the vendored libraries (sm-crypto-v2, noble). Python
produces signatures, trees, proofs and keys; the modules the page loads run
under Node on them (tests/console/chain_modules.mjs), and each side checks the
other's output, tampered inputs included.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lmdb
import pytest

from consortia.codec import U64_MAX, encode
from consortia.console import STATIC_DIR
from consortia.crypto import KeyType, PrivateKey, PublicKey, sha256, sm3
from consortia.ledger.merkle import merkle_proof, merkle_root
from consortia.ledger.types import TxBody, tx_id
from consortia.modules.governance.types import (
    AccountTarget,
    CastVote,
    Choice,
    GrantRole,
    ProposalKind,
    Propose,
    ReweightValidator,
    Role,
)
from consortia.state import StateTree

RUNNER = Path(__file__).with_name("chain_modules.mjs")
CHAIN_LIBS = STATIC_DIR / "vendor" / "chain-libs.js"
KEY_TYPES = (KeyType.SM2, KeyType.P256, KeyType.SECP256K1)
HASHES = {"sm": sm3, "intl": sha256}


def _flip(raw: bytes, at: int) -> bytes:
    data = bytearray(raw)
    data[at] ^= 1
    return bytes(data)


@dataclass
class Vectors:
    """What Python hands to the modules, and what it expects back."""

    given: dict[str, list[Any]] = field(default_factory=dict)
    expected: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, section: str, vector: Any, expected: Any) -> None:
        self.given.setdefault(section, []).append(vector)
        self.expected.setdefault(section, []).append(expected)


def _signatures(vectors: Vectors, rng: random.Random) -> None:
    for key_type in KEY_TYPES:
        for i in range(4):
            key = PrivateKey.generate(key_type)
            message = rng.randbytes(rng.randrange(0, 300))
            signature = key.sign(message)
            public = key.public_key().to_bytes().hex()
            for msg, sig, ok in (
                (message, signature, True),
                (message + b"x", signature, False),
                (message, _flip(signature, 8 + i), False),
            ):
                vector = {"key_type": key_type.value, "public_key": public}
                vector |= {"message": msg.hex(), "signature": sig.hex()}
                vectors.add("signatures", vector, ok)


def _merkle(vectors: Vectors, rng: random.Random) -> None:
    for suite, hash_fn in HASHES.items():
        for size in range(1, 18):
            leaves = [rng.randbytes(rng.randrange(0, 50)) for _ in range(size)]
            paths = [
                [s.hex() for s in merkle_proof(hash_fn, leaves, i).siblings] for i in range(size)
            ]
            expected = {"root": merkle_root(hash_fn, leaves).hex(), "paths": paths}
            expected["verified"] = [True] * size
            vectors.add(
                "merkle", {"suite": suite, "leaves": [leaf.hex() for leaf in leaves]}, expected
            )


def _state(vectors: Vectors, rng: random.Random, home: Path) -> None:
    for suite, hash_fn in HASHES.items():
        env = lmdb.open(str(home / suite), max_dbs=16, map_size=1 << 26)
        tree = StateTree(env, hash_fn)
        items = {
            rng.randbytes(rng.randrange(1, 40)): rng.randbytes(rng.randrange(1, 60))
            for _ in range(300)
        }
        with env.begin(write=True) as txn:
            root = tree.apply(txn, 0, items).hex()
        with env.begin() as txn:
            present = list(items.items())[:20]
            for key, value in present:
                proof = tree.prove(txn, key, 0).to_bytes().hex()
                vector = {"suite": suite, "key": key.hex(), "proof": proof}
                vectors.add("state", vector | {"value": value.hex()}, root)
                vectors.add("state", vector | {"value": _flip(value, 0).hex()}, None)
                vectors.add("state", vector | {"value": None}, None)
            for _ in range(10):
                key = rng.randbytes(33)
                proof = tree.prove(txn, key, 0).to_bytes().hex()
                vectors.add(
                    "state", {"suite": suite, "key": key.hex(), "value": None, "proof": proof}, root
                )
        env.close()


def _keys(vectors: Vectors) -> None:
    for key_type in KEY_TYPES:
        key = PrivateKey.generate(key_type)
        public = key.public_key()
        expected = {"key_type": key_type.value, "public_key": public.to_bytes().hex()}
        vectors.add(
            "keys", {"pem": key.to_pem().decode()}, expected | {"address": public.address().hex()}
        )


def _encodings(vectors: Vectors, rng: random.Random) -> None:
    for nonce, gas, expiry in ((0, 1, 2), (2**31, 2**32, 2**40), (7, 10**6, U64_MAX)):
        body = TxBody(
            chain_id="consortia-test",
            sender=rng.randbytes(20),
            nonce=nonce,
            module="governance",
            method="vote",
            args=rng.randbytes(rng.randrange(0, 300)),
            gas_limit=gas,
            expiry_height=expiry,
        )
        raw = encode(body)
        given = {"bytes": raw.hex(), "body": {"chain_id": body.chain_id, "module": body.module}}
        given["body"] |= {
            "method": body.method,
            "sender": body.sender.hex(),
            "args": body.args.hex(),
        }
        given["body"] |= {"nonce": str(nonce), "gas_limit": str(gas), "expiry_height": str(expiry)}
        expected = {"bytes": raw.hex(), "tx_id": tx_id(sm3, body).hex(), "again": raw.hex()}
        vectors.add("encode", given, expected)


def _governance(vectors: Vectors, rng: random.Random) -> None:
    who = rng.randbytes(20)
    cases = [
        ("grant_role", {"address": who.hex(), "role": "auditor", "weight": ""},
         GrantRole(who, Role.AUDITOR)),
        ("grant_role", {"address": "0x" + who.hex(), "role": "governor", "organisation": "org2",
                        "weight": "3"}, GrantRole(who, Role.GOVERNOR, "org2", 3)),
        ("freeze_account", {"address": who.hex()}, AccountTarget(who)),
        ("reweight_validator", {"name": "org1-v0", "weight": "2"}, ReweightValidator("org1-v0", 2)),
    ]  # fmt: skip
    for kind, fields, payload in cases:
        deadline = rng.randrange(1, 2**40)
        given = {"method": "propose", "kind": kind, "fields": fields, "deadline": deadline}
        expected = Propose(ProposalKind(kind), encode(payload), deadline)
        vectors.add("governance", given, encode(expected).hex())
    for choice in Choice:
        vote = {"method": "vote", "id": 7, "choice": choice.value}
        vectors.add("governance", vote, encode(CastVote(7, choice)).hex())


@pytest.fixture(scope="module")
def agreed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Vectors, dict[str, list[Any]]]:
    """Vectors, and what the browser modules computed from them under Node."""
    if not CHAIN_LIBS.is_file():
        pytest.fail("vendor/chain-libs.js is missing: run `make setup`")
    node = shutil.which("node")
    assert node is not None, "node is missing: `make setup` installs it"
    rng = random.Random(20261127)
    vectors = Vectors()
    home = tmp_path_factory.mktemp("chain-modules")
    _signatures(vectors, rng)
    _merkle(vectors, rng)
    _state(vectors, rng, home)
    _keys(vectors)
    _encodings(vectors, rng)
    _governance(vectors, rng)
    path = home / "vectors.json"
    path.write_text(json.dumps(vectors.given))
    done = subprocess.run(
        [node, str(RUNNER), str(path)],
        env={"CHAIN_LIBS": str(CHAIN_LIBS)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    computed: dict[str, list[Any]] = json.loads(done.stdout)
    return vectors, computed


def test_signatures_from_python_verify_and_tampered_ones_do_not(
    agreed: tuple[Vectors, dict[str, Any]],
) -> None:
    vectors, computed = agreed
    assert computed["signatures"] == vectors.expected["signatures"]


def test_merkle_roots_and_audit_paths_match(agreed: tuple[Vectors, dict[str, Any]]) -> None:
    vectors, computed = agreed
    assert computed["merkle"] == vectors.expected["merkle"]


def test_state_proofs_recompute_the_root_only_for_the_true_value(
    agreed: tuple[Vectors, dict[str, Any]],
) -> None:
    vectors, computed = agreed
    assert computed["state"] == vectors.expected["state"]


def test_pem_keys_import_with_the_same_public_key_and_address(
    agreed: tuple[Vectors, dict[str, Any]],
) -> None:
    vectors, computed = agreed
    assert computed["keys"] == vectors.expected["keys"]


def test_signatures_made_in_the_browser_verify_in_python(
    agreed: tuple[Vectors, dict[str, Any]],
) -> None:
    _, computed = agreed
    assert [s["key_type"] for s in computed["signed"]] == [k.value for k in KEY_TYPES]
    for signed, key in zip(computed["signed"], computed["keys"], strict=True):
        public = PublicKey.from_bytes(KeyType(key["key_type"]), bytes.fromhex(key["public_key"]))
        message = bytes.fromhex(signed["message"])
        signature = bytes.fromhex(signed["signature"])
        assert public.verify(message, signature)
        assert not public.verify(message + b"!", signature)


def test_transaction_bodies_encode_to_the_same_bytes_and_id(
    agreed: tuple[Vectors, dict[str, Any]],
) -> None:
    vectors, computed = agreed
    assert computed["encode"] == vectors.expected["encode"]


def test_keys_generated_in_the_browser_save_as_pem_python_reads(
    agreed: tuple[Vectors, dict[str, Any]],
) -> None:
    _, computed = agreed
    for generated, key_type in zip(computed["generated"], KEY_TYPES, strict=True):
        key = PrivateKey.from_pem(generated["pem"].encode())
        assert key.key_type is key_type
        assert key.public_key().to_bytes().hex() == generated["public_key"]
        assert key.public_key().address().hex() == generated["address"]


def test_proposals_and_votes_encode_as_the_governance_module_decodes(
    agreed: tuple[Vectors, dict[str, Any]],
) -> None:
    vectors, computed = agreed
    assert computed["governance"] == vectors.expected["governance"]
