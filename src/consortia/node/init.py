"""Creates the homes of a new network: keys, genesis and one ``node.toml`` per node.

``consortia init`` writes, under one directory::

    DIR/network.json              the nodes, their homes and API URLs
    DIR/genesis.json              readable copy of the genesis
    DIR/keys/<name>.pem           user keys (sm2 on sm chains, p256 on intl): the demo
                                  users, each organisation's admin (<org>-admin) or the
                                  accounts a --charter file names
    DIR/orgs/<org>/ca.pem, ca.key each organisation's transport CA
    DIR/<org>-v<i>/               one node home per validator (see config.py), with
        tls/node.key, node.pem    its TLS key and certificate, issued by its org's CA
        tls/ca-bundle.pem         every member organisation's CA certificate

Each node home is self-contained, so it can be copied to the organisation's
own machine and started there with ``consortia node start --home``.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import msgspec

from consortia.codec import encode
from consortia.crypto import KeyType, PrivateKey, get_suite
from consortia.execution.policy import ChainPolicy
from consortia.genesis import Genesis, runtime_for
from consortia.ledger.types import ValidatorInfo, ValidatorSet
from consortia.modules.accounts.types import AccountKey, GenesisAccount
from consortia.network.certs import Credential, TlsFiles, create_ca, issue_node_cert
from consortia.node.charter import CharterError, default_charter, load_charter
from consortia.node.config import ConfigError, NodeConfig, NodeHome, PeerConfig, render_config
from consortia.node.network_file import NETWORK_FILE, NodeEntry, add_to_network, read_network

__all__ = [  # with the network file's reader, re-exported for the callers of init_network
    "DEMO_USERS",
    "NETWORK_FILE",
    "NodeEntry",
    "add_to_network",
    "init_network",
    "read_network",
    "write_node_home",
    "write_secret",
]

DEMO_USERS: Final = ("alice", "bob")
_KEY_NAME: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def init_network(
    root: Path,
    *,
    validators: int,
    orgs: int,
    suite: str,
    chain_id: str = "consortia-devnet",
    host: str = "127.0.0.1",
    base_api_port: int = 8545,
    base_p2p_port: int = 26656,
    genesis_time_ms: int = 0,
    overwrite: bool = False,
    charter: Path | None = None,
    policy: ChainPolicy | None = None,
    accounts: Sequence[GenesisAccount] = (),
    applications: Sequence[str] = (),
) -> list[NodeEntry]:
    """Write a new network of ``validators`` nodes spread over ``orgs`` organisations.

    Parameters:
        charter: a charter TOML or YAML file (docs/governance.md); without one,
            each organisation gets an admin key ``<org>-admin`` that is a
            governor of weight 1, with thresholds 2/3 and 2/3.
        policy: the chain policy, replacing the charter's (or the default).
        accounts: more genesis accounts, after the users' (``consortia bench run
            --state-accounts`` puts its filler accounts here).
        applications: applications the chain runs besides the built-in modules
            (``consortia init --app``), written sorted into ``Genesis.applications``;
            each must be installed here and clash with nothing.

    Raises:
        ConfigError: bad counts, unknown suite, or ``root`` already holds a network.
        CharterError: the charter file is invalid (``CONFIG_CHARTER_INVALID``).
        InvalidGenesis: a malformed application name; ApplicationNotInstalled
            (``GENESIS_APP_NOT_INSTALLED``) or ApplicationConflict
            (``GENESIS_APP_CONFLICT``): nodes could not start from this genesis.
    """
    if validators < 1 or orgs < 1 or orgs > validators:
        raise ConfigError(
            f"need validators >= 1 and 1 <= orgs <= validators (got {validators}, {orgs})"
        )
    crypto_suite = get_suite(suite)
    if (root / NETWORK_FILE).exists() and not overwrite:
        raise ConfigError(f"{root} already holds a network; use --reset to replace it")
    consensus_type = crypto_suite.consensus_key_type
    entries: list[NodeEntry] = []
    infos: list[ValidatorInfo] = []
    keys: list[PrivateKey] = []
    for i in range(validators):
        org = f"org{i % orgs + 1}"
        name = f"{org}-v{i}"
        key = PrivateKey.generate(consensus_type)
        keys.append(key)
        public = key.public_key()
        infos.append(
            ValidatorInfo(
                name=name,
                organisation=org,
                address=public.address(),
                key_type=consensus_type.value,
                public_key=public.to_bytes(),
                weight=1,
                endpoint=f"{host}:{base_p2p_port + i}",
            )
        )
        entries.append(
            NodeEntry(
                name=name,
                home=root / name,
                api=f"http://{host}:{base_api_port + i}",
                p2p=f"{host}:{base_p2p_port + i}",
            )
        )
    user_type = KeyType.SM2 if suite == "sm" else KeyType.P256
    users = {name: PrivateKey.generate(user_type) for name in DEMO_USERS}
    org_names = tuple(sorted({info.organisation for info in infos}))
    cas = {org: create_ca(org) for org in org_names}
    ca_pems = {org: cas[org].cert_pem for org in org_names}

    def resolve(account: str, field: str) -> bytes:
        if account.startswith(("0x", "0X")):
            try:
                address = bytes.fromhex(account[2:])
            except ValueError:
                address = b""
            if len(address) != 20:
                raise CharterError(f"{field}: {account!r} is not a 20-byte hex address")
            return address
        if not _KEY_NAME.fullmatch(account):
            raise CharterError(f"{field}: {account!r} is neither 0x<address> nor a key name")
        if account not in users:
            users[account] = PrivateKey.generate(user_type)
        return users[account].public_key().address()

    chosen = ChainPolicy()
    if charter is None:
        governance = default_charter(org_names, resolve, ca_pems)
    else:
        decided = load_charter(charter, resolve, ca_pems, org_names)
        if decided.suite is not None and decided.suite != suite:
            raise CharterError(f"{charter}: policy.suite is {decided.suite!r}, not {suite!r}")
        governance, chosen = decided.charter, decided.policy
    genesis = Genesis(
        chain_id=chain_id,
        suite=suite,
        timestamp_ms=genesis_time_ms,
        policy=policy if policy is not None else chosen,
        validators=ValidatorSet(epoch=0, validators=tuple(infos)),
        accounts=tuple(
            GenesisAccount(
                address=key.public_key().address(),
                keys=(
                    AccountKey(key_type=user_type.value, public_key=key.public_key().to_bytes()),
                ),
            )
            for key in users.values()
        )
        + tuple(accounts),
        governance=governance,
        applications=tuple(sorted(set(applications))),
    )
    if genesis.applications:  # refuse here what every node would refuse at start
        runtime_for(genesis)
    genesis_bytes = encode(genesis)
    if (root / NETWORK_FILE).exists():  # only now: a bad charter leaves the old network
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "keys").mkdir(exist_ok=True)
    for name, key in users.items():
        write_secret(root / "keys" / f"{name}.pem", key.to_pem())
    for org in org_names:
        (root / "orgs" / org).mkdir(parents=True)
        write_secret(root / "orgs" / org / "ca.key", cas[org].key_pem)
        (root / "orgs" / org / "ca.pem").write_bytes(cas[org].cert_pem)
    bundle = b"".join(cas[org].cert_pem for org in sorted(cas))
    for i, entry in enumerate(entries):
        org = infos[i].organisation
        peers = tuple(
            PeerConfig(name=other.name, host=host, port=base_p2p_port + j)
            for j, other in enumerate(entries)
            if j != i
        )
        config = NodeConfig(
            name=entry.name,
            chain_id=chain_id,
            api_host=host,
            api_port=base_api_port + i,
            p2p_host=host,
            p2p_port=base_p2p_port + i,
            peers=peers,
        )
        write_node_home(
            entry.home,
            key=keys[i],
            genesis=genesis_bytes,
            tls=issue_node_cert(cas[org], org, entry.name, host),
            ca_bundle=bundle,
            config=config,
        )
    (root / "genesis.json").write_bytes(msgspec.json.format(msgspec.json.encode(genesis)))
    network = {
        "chain_id": chain_id,
        "suite": suite,
        "nodes": [
            {"name": e.name, "home": str(e.home.resolve()), "api": e.api, "p2p": e.p2p}
            for e in entries
        ],
    }
    (root / NETWORK_FILE).write_text(json.dumps(network, indent=2) + "\n", encoding="utf-8")
    return entries


def write_node_home(
    home: Path,
    *,
    key: PrivateKey,
    genesis: bytes,
    tls: Credential,
    ca_bundle: bytes,
    config: NodeConfig,
) -> None:
    """Write one self-contained node home (see the module docstring)."""
    node = NodeHome(home)
    (home / "keys").mkdir(parents=True)
    write_secret(node.validator_key, key.to_pem())
    node.genesis_file.write_bytes(genesis)
    files = TlsFiles(home)
    files.key.parent.mkdir()
    write_secret(files.key, tls.key_pem)
    files.cert.write_bytes(tls.cert_pem)
    files.ca_bundle.write_bytes(ca_bundle)
    node.config_file.write_text(render_config(config), encoding="utf-8")


def write_secret(path: Path, data: bytes) -> None:
    """Write a private file (mode 0600)."""
    path.write_bytes(data)
    path.chmod(0o600)
