"""[GENESIS-VALID.1]: a genesis file that decodes can still break network rules."""

from __future__ import annotations

import msgspec
import pytest

from consortia.codec import decode
from consortia.genesis import Genesis, InvalidGenesis, validate_genesis
from consortia.modules.accounts.types import AccountKey
from consortia.node.init import init_network


@pytest.fixture(scope="module")
def genesis(tmp_path_factory: pytest.TempPathFactory) -> Genesis:
    root = tmp_path_factory.mktemp("genesis") / "net"
    entries = init_network(root, validators=4, orgs=2, suite="sm")
    return decode((entries[0].home / "genesis.bin").read_bytes(), Genesis)


def _with_validators(genesis: Genesis, validators: tuple[object, ...]) -> Genesis:
    vs = msgspec.structs.replace(genesis.validators, validators=validators)
    return msgspec.structs.replace(genesis, validators=vs)


def test_generated_genesis_is_valid(genesis: Genesis) -> None:
    validate_genesis(genesis)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda g: _with_validators(g, ()), "empty"),
        (lambda g: _with_validators(g, (g.validators.validators[0],) * 2), "share a name"),
        (
            lambda g: _with_validators(
                g, (msgspec.structs.replace(g.validators.validators[0], weight=0),)
            ),
            "weight 0",
        ),
        (
            lambda g: _with_validators(
                g, (msgspec.structs.replace(g.validators.validators[0], key_type="p256"),)
            ),
            "suite needs sm2",
        ),
        (
            lambda g: _with_validators(
                g, (msgspec.structs.replace(g.validators.validators[0], address=bytes(20)),)
            ),
            "not its key's address",
        ),
        (lambda g: msgspec.structs.replace(g, accounts=g.accounts[:1] * 2), "share an address"),
        (
            lambda g: msgspec.structs.replace(
                g, accounts=(msgspec.structs.replace(g.accounts[0], keys=()),)
            ),
            "1 to 16 keys",
        ),
        (
            lambda g: msgspec.structs.replace(
                g,
                accounts=(
                    msgspec.structs.replace(
                        g.accounts[0], keys=(AccountKey(key_type="sm2", public_key=b"\x04" * 65),)
                    ),
                ),
            ),
            "invalid",
        ),
    ],
)
def test_broken_rules_are_named(genesis: Genesis, mutate: object, message: str) -> None:
    broken = mutate(genesis)  # type: ignore[operator]
    with pytest.raises(InvalidGenesis, match=message) as info:
        validate_genesis(broken)
    assert info.value.code == "GENESIS_INVALID"
