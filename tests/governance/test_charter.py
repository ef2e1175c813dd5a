"""``consortia init`` writes a charter: the default one, or a TOML or YAML file validated
field by field, with the chain policy of its ``policy`` table."""

from __future__ import annotations

from pathlib import Path

import pytest

from consortia.codec import decode
from consortia.crypto import PrivateKey
from consortia.genesis import Genesis, InvalidGenesis, validate_genesis
from consortia.modules.governance.types import Fraction, Role
from consortia.node.charter import CharterError
from consortia.node.init import init_network

CHARTER = """
[[organisation]]
name = "org1"
admins = ["org1-admin"]

[[organisation]]
name = "org2"
admins = ["org2-admin", "0x0000000000000000000000000000000000000002"]

[[governor]]
account = "org1-admin"
weight = 2

[[governor]]
account = "org2-admin"

[thresholds.default]
participation = "1/2"
approval = "2/3"

[thresholds.add_validator]
participation = "3/4"
approval = "3/4"

[[role]]
account = "alice"
role = "auditor"

[policy]
suite = "sm"
allowed_key_types = ["sm2"]
max_tx_bytes = 32768
contract_deployment = "audited"
retention_blocks = 100000
"""

CHARTER_YAML = """
organisation:
  - {name: org1, admins: [org1-admin]}
  - name: org2
    admins: [org2-admin, "0x0000000000000000000000000000000000000002"]
governor:
  - {account: org1-admin, weight: 2}
  - {account: org2-admin}
thresholds:
  default: {participation: 1/2, approval: 2/3}
  add_validator: {participation: 3/4, approval: 3/4}
role:
  - {account: alice, role: auditor}
policy:
  suite: sm
  allowed_key_types: [sm2]
  max_tx_bytes: 32768
  contract_deployment: audited
  retention_blocks: 100000
"""


def _genesis(
    root: Path, charter: str | None = None, orgs: int = 2, name: str = "charter.toml"
) -> Genesis:
    path = None
    if charter is not None:
        root.parent.mkdir(parents=True, exist_ok=True)
        path = root.parent / name
        path.write_text(charter, encoding="utf-8")
    entries = init_network(root, validators=2, orgs=orgs, suite="sm", charter=path)
    return decode((entries[0].home / "genesis.bin").read_bytes(), Genesis)


def test_default_charter_one_admin_governor_per_org(tmp_path: Path) -> None:
    genesis = _genesis(tmp_path / "net")
    charter = genesis.governance
    assert [o.name for o in charter.organisations] == ["org1", "org2"]
    admin = PrivateKey.from_pem((tmp_path / "net/keys/org1-admin.pem").read_bytes())
    assert charter.organisations[0].admins == (admin.public_key().address(),)
    assert charter.organisations[0].ca_cert.startswith(b"-----BEGIN CERTIFICATE")
    assert [g.weight for g in charter.governors] == [1, 1]
    assert charter.thresholds[0].participation == Fraction(numerator=2, denominator=3)
    validate_genesis(genesis)


def test_charter_file(tmp_path: Path) -> None:
    charter = _genesis(tmp_path / "net", CHARTER).governance
    assert [g.weight for g in charter.governors] == [2, 1]
    assert charter.organisations[1].admins[1] == bytes(19) + b"\x02"
    assert {t.kind: t.participation.numerator for t in charter.thresholds} == {
        "add_validator": 3,
        "default": 1,
    }
    alice = PrivateKey.from_pem((tmp_path / "net/keys/alice.pem").read_bytes())
    assert charter.roles[0].address == alice.public_key().address()
    assert charter.roles[0].role == Role.AUDITOR


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (("weight = 2", "weight = 0"), "governor[0].weight"),
        (('participation = "1/2"', 'participation = "half"'), "thresholds.default.participation"),
        (('participation = "1/2"', 'participation = "3/2"'), "participation: 3/2"),
        (("[thresholds.add_validator]", "[thresholds.add_validatr]"), "add_validatr: unknown"),
        (('role = "auditor"', 'role = "king"'), "role[0].role: unknown role"),
        (('name = "org2"', 'name = "org1"'), "organisation 'org2' is missing"),
        (('admins = ["org1-admin"]', 'admins = ["no such!"]'), "organisation[0].admins[0]"),
        (("[[role]]", "[[rule]]"), "charter.rule: unknown field"),
        (('account = "alice"', 'acount = "alice"'), "role[0].acount: unknown field"),
        (("retention_blocks = 100000", "retention_blocks = 10"), "retention_blocks must be 0"),
        (('contract_deployment = "audited"', 'contract_deployment = "x"'), "contract_deployment"),
        (('["sm2"]', '["rsa"]'), "unknown key types"),
        (("max_tx_bytes", "max_tx_byte"), "policy.max_tx_byte: unknown field"),
        (('suite = "sm"', 'suite = "intl"'), "policy.suite is 'intl', not 'sm'"),
        (('suite = "sm"', 'suite = "gm"'), "policy.suite: 'gm' is not sm or intl"),
    ],
)
def test_charter_errors_name_the_field(tmp_path: Path, edit: tuple[str, str], field: str) -> None:
    text = CHARTER.replace(*edit, 1)
    assert text != CHARTER
    with pytest.raises(CharterError) as info:
        _genesis(tmp_path / "net", text)
    assert info.value.code == "CONFIG_CHARTER_INVALID"
    assert field in info.value.message
    assert not (tmp_path / "net" / "network.json").exists()


def test_yaml_charter_means_the_same_as_toml(tmp_path: Path) -> None:
    from_toml = _genesis(tmp_path / "a" / "net", CHARTER)
    from_yaml = _genesis(tmp_path / "b" / "net", CHARTER_YAML, name="charter.yaml")
    strip = {"ca_cert": b"", "admins": ()}  # each init makes its own CAs and admin keys
    for genesis in (from_toml, from_yaml):
        assert genesis.policy.allowed_key_types == ("sm2",)
        assert genesis.policy.contract_deployment == "audited"
        assert genesis.policy.retention_blocks == 100_000
    import msgspec

    def shape(genesis: Genesis) -> object:
        return (
            [msgspec.structs.replace(o, **strip) for o in genesis.governance.organisations],
            [g.weight for g in genesis.governance.governors],
            genesis.governance.thresholds,
            [r.role for r in genesis.governance.roles],
            genesis.governance.permissions,
            genesis.policy,
        )

    assert shape(from_toml) == shape(from_yaml)


def test_bad_yaml_is_named(tmp_path: Path) -> None:
    with pytest.raises(CharterError, match="not YAML"):
        _genesis(tmp_path / "net", "organisation: [unclosed", name="charter.yml")
    with pytest.raises(CharterError, match="charter: must be a table"):
        _genesis(tmp_path / "net", "- just\n- a list\n", name="charter.yml")


def test_genesis_rejects_duplicate_governor(tmp_path: Path) -> None:
    import msgspec

    genesis = _genesis(tmp_path / "net")
    twice = (*genesis.governance.governors, genesis.governance.governors[0])
    bad = msgspec.structs.replace(
        genesis, governance=msgspec.structs.replace(genesis.governance, governors=twice)
    )
    with pytest.raises(InvalidGenesis, match=r"governance.governors\[2\].address"):
        validate_genesis(bad)


def test_docs_example_charter(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "governance.md").read_text(encoding="utf-8")
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    charter = _genesis(tmp_path / "net", example).governance
    assert [o.name for o in charter.organisations] == ["org1", "org2"]
    assert [g.weight for g in charter.governors] == [2, 1]
    assert len(charter.permissions) == 6
