"""Who may connect to a node, and whom it dials ([NET-AUTH.1], [CONS-EPOCH.3]).

A peer is admitted if its TLS certificate was issued by the CA of a member
organisation: the CA certificates that governance holds in state (an
organisation admitted by proposal brings its own), or, for a charter that
records none, the CA bundle of the node home. Its Hello has already proved it
holds its node key; whether that key votes is the current epoch's business.

Dialing: each pair of validators has one dialer, the one whose name sorts
first; a node that is not a validator of the current epoch (a joining or a
retired one) dials every validator, and no validator dials it. Addresses
come from the node's own peer list, else from the endpoint each validator
registered on chain.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from consortia.consensus.validators import Committee
from consortia.modules.governance.types import ORG_PREFIX, Organisation
from consortia.network.errors import HandshakeFailed
from consortia.network.transport import PeerAddress
from consortia.node.config import NodeConfig
from consortia.node.reader import LedgerReader


def org_ca_pems(reader: LedgerReader) -> list[bytes]:
    """CA certificates of the organisations in governance state (those that gave one)."""
    _, orgs = reader.structs(ORG_PREFIX, Organisation)
    return [org.ca_cert for _, org in orgs if org.ca_cert]


class Membership:
    """The member organisations' CA certificates, read from state when needed."""

    def __init__(self, org_cas: Callable[[], list[bytes]], bundle: Path) -> None:
        """``org_cas`` reads the CAs in state; ``bundle`` is the home's CA bundle file."""
        self._org_cas = org_cas
        self._bundle = bundle
        self._parsed: dict[bytes, x509.Certificate] = {}

    def ca_pems(self) -> list[bytes]:
        """PEM of every member CA in force."""
        pems = self._org_cas()
        if pems:
            return pems
        certs = x509.load_pem_x509_certificates(self._bundle.read_bytes())
        return [c.public_bytes(Encoding.PEM) for c in certs]

    def _ca(self, pem: bytes) -> x509.Certificate:
        if pem not in self._parsed:
            self._parsed[pem] = x509.load_pem_x509_certificate(pem)
        return self._parsed[pem]

    def admit(self, cert_der: bytes) -> None:
        """Raise HandshakeFailed unless a member CA issued this certificate."""
        try:
            leaf = x509.load_der_x509_certificate(cert_der)
        except ValueError as exc:
            raise HandshakeFailed(f"peer certificate does not parse: {exc}") from None
        for pem in self.ca_pems():
            try:
                leaf.verify_directly_issued_by(self._ca(pem))
            except (ValueError, TypeError, InvalidSignature):
                continue
            return
        raise HandshakeFailed(f"{leaf.subject.rfc4514_string()} is not issued by a member CA")


def dial_targets(config: NodeConfig, committee: Committee, me: int | None) -> list[PeerAddress]:
    """The peers this node dials in the epoch of ``committee`` (see the module docstring)."""
    overrides = {p.name: (p.host, p.port) for p in config.peers}
    validators = committee.validator_set.validators
    my_name = validators[me].name if me is not None else config.name
    targets = []
    for i, v in enumerate(validators):
        if i == me or (me is not None and v.name <= my_name):
            continue
        address = overrides.get(v.name) or parse_endpoint(v.endpoint)
        if address is not None:
            targets.append(PeerAddress(v.name, address[0], address[1], key=v.public_key))
    if me is None:
        names = {v.name for v in validators}
        targets += [
            PeerAddress(p.name, p.host, p.port) for p in config.peers if p.name not in names
        ]
    return targets


def parse_endpoint(endpoint: str) -> tuple[str, int] | None:
    """``host:port`` as a pair, or None if empty or malformed."""
    host, sep, port = endpoint.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)
