"""Python SDK of a Consortia node: sign transactions and talk to the REST API.

Example::

    from consortia.sdk import Client, Signer

    alice = Signer.from_pem_file(".devnet/keys/alice.pem")
    with Client("http://127.0.0.1:8545") as node:
        node.create_asset(alice, "CNY", name="yuan", decimals=2, supply_rule="unlimited")
        node.issue(alice, "CNY", alice.address, 10_000)
"""

from __future__ import annotations

from consortia.api.schemas import (
    AccountJson,
    AssetJson,
    BatchItem,
    BlockJson,
    HeaderJson,
    StateJson,
    StatusJson,
    TransactionJson,
)
from consortia.sdk.client import AsyncClient, Client, ClientState
from consortia.sdk.errors import (
    ApiError,
    ClientError,
    NodeUnreachable,
    TransactionFailed,
    TransactionTimeout,
)
from consortia.sdk.multisig import PendingMultisig
from consortia.sdk.signer import Signer
from consortia.sdk.verify import explain_state_record, header_from_json, verify_state_record

__all__ = [
    "AccountJson",
    "ApiError",
    "AssetJson",
    "AsyncClient",
    "BatchItem",
    "BlockJson",
    "Client",
    "ClientError",
    "ClientState",
    "HeaderJson",
    "NodeUnreachable",
    "PendingMultisig",
    "Signer",
    "StateJson",
    "StatusJson",
    "TransactionFailed",
    "TransactionJson",
    "TransactionTimeout",
    "explain_state_record",
    "header_from_json",
    "verify_state_record",
]
