"""Admitting a new member to a running chain: its CA, its node, its proposals.

The walk-through (docs/governance.md, "Admitting a new member"):

1. the new organisation creates its own CA and admin key
   (:func:`create_organisation`); the consortium passes an
   ``add_organisation`` proposal carrying that CA certificate, after which
   every node trusts certificates it issues;
2. the organisation creates a node home (:func:`join_network`): a node key,
   a TLS certificate from its own CA, the chain's genesis and bootstrap
   peers. Started, the node follows the chain as an observer and syncs;
3. an ``add_validator`` proposal with the node's :class:`ValidatorInfo`
   passes; at the next epoch the node votes.
"""

from __future__ import annotations

from pathlib import Path

from consortia.codec import decode
from consortia.crypto import KeyType, PrivateKey, get_suite
from consortia.genesis import Genesis
from consortia.ledger.types import ValidatorInfo
from consortia.modules.governance.types import AddOrganisation, AddValidator
from consortia.network.certs import Credential, create_ca, issue_node_cert
from consortia.node.config import ConfigError, NodeConfig, PeerConfig
from consortia.node.init import write_node_home, write_secret

CA_KEY = "ca.key"
CA_CERT = "ca.pem"
ADMIN_KEY = "admin.pem"


def create_organisation(out: Path, name: str, suite: str) -> AddOrganisation:
    """Write a new organisation's CA and admin key under ``out``; return its proposal payload.

    Raises:
        ConfigError: ``out`` already holds a CA.
    """
    if (out / CA_KEY).exists():
        raise ConfigError(f"{out} already holds an organisation CA")
    out.mkdir(parents=True, exist_ok=True)
    ca = create_ca(name)
    write_secret(out / CA_KEY, ca.key_pem)
    (out / CA_CERT).write_bytes(ca.cert_pem)
    admin = PrivateKey.generate(KeyType.SM2 if suite == "sm" else KeyType.P256)
    write_secret(out / ADMIN_KEY, admin.to_pem())
    return AddOrganisation(name=name, admins=(admin.public_key().address(),), ca_cert=ca.cert_pem)


def join_network(
    home: Path,
    *,
    name: str,
    organisation: str,
    org_dir: Path,
    genesis_file: Path,
    ca_bundle: Path,
    peers: tuple[PeerConfig, ...],
    host: str = "127.0.0.1",
    p2p_port: int,
    api_port: int,
    weight: int = 1,
) -> AddValidator:
    """Create the home of a node of ``organisation`` that joins an existing chain.

    Returns the ``add_validator`` payload that makes it a validator.

    Raises:
        ConfigError: ``home`` exists, or the CA, genesis or bundle cannot be read.
    """
    if home.exists():
        raise ConfigError(f"{home} already exists")
    try:
        genesis = decode(genesis_file.read_bytes(), Genesis)
        ca = Credential(
            key_pem=(org_dir / CA_KEY).read_bytes(), cert_pem=(org_dir / CA_CERT).read_bytes()
        )
        bundle = ca_bundle.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(f"cannot read {exc.filename}") from None
    key = PrivateKey.generate(get_suite(genesis.suite).consensus_key_type)
    config = NodeConfig(
        name=name,
        chain_id=genesis.chain_id,
        api_host=host,
        api_port=api_port,
        p2p_host=host,
        p2p_port=p2p_port,
        peers=peers,
    )
    write_node_home(
        home,
        key=key,
        genesis=genesis_file.read_bytes(),
        tls=issue_node_cert(ca, organisation, name, host),
        ca_bundle=bundle + ca.cert_pem,
        config=config,
    )
    public = key.public_key()
    return AddValidator(
        validator=ValidatorInfo(
            name=name,
            organisation=organisation,
            address=public.address(),
            key_type=public.key_type.value,
            public_key=public.to_bytes(),
            weight=weight,
            endpoint=f"{host}:{p2p_port}",
        )
    )
