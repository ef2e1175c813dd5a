"""Node read models to API documents (pure functions, no I/O)."""

from __future__ import annotations

from functools import cache
from typing import Any

from consortia.api import schemas as s
from consortia.api.jsonable import to_plain
from consortia.api.schemas import to_hex
from consortia.codec import CodecError, decode, encode
from consortia.execution.errors import BadArguments, UnknownMethod
from consortia.execution.executor import Runtime
from consortia.ledger.types import (
    BlockHeader,
    EpochStart,
    Hasher,
    QuorumCert,
    Receipt,
    Transaction,
    tx_id,
)
from consortia.modules.assets.types import Asset
from consortia.node.event_log import EventPage
from consortia.node.views import (
    AccountRecord,
    AssetPage,
    BlockRecord,
    HolderPage,
    NodeStatus,
    StateRecord,
    TxRecord,
)


@cache
def _builtins() -> Runtime:
    from consortia.genesis import default_runtime

    return default_runtime()


def decoded_args(module: str, method: str, args: bytes, runtime: Runtime | None = None) -> Any:
    """The method's argument struct as JSON, or None if unknown or undecodable.

    ``runtime`` is the chain's (its genesis's applications included); None: the built-ins.
    """
    try:
        args_type = (runtime or _builtins()).method(module, method).args_type
        if args_type is bytes:  # an Ethereum-signed transaction's raw RLP
            return to_plain(args)
        return to_plain(decode(args, args_type))
    except (UnknownMethod, BadArguments, CodecError):  # BadArguments: TX_BAD_NAME of old data
        return None


def tx_json(tx: Transaction, runtime: Runtime | None = None) -> s.TxJson:
    body = tx.body
    return s.TxJson(
        chain_id=body.chain_id,
        sender=to_hex(body.sender),
        nonce=body.nonce,
        module=body.module,
        method=body.method,
        args=to_hex(body.args),
        args_decoded=decoded_args(body.module, body.method, body.args, runtime),
        gas_limit=body.gas_limit,
        expiry_height=body.expiry_height,
        key_type=tx.key_type,
        public_key=to_hex(tx.public_key),
        signature=to_hex(tx.signature),
    )


def receipt_json(receipt: Receipt) -> s.ReceiptJson:
    return s.ReceiptJson(
        status=receipt.status,
        message=receipt.message,
        gas_used=receipt.gas_used,
        events=[
            s.EventJson(module=e.module, name=e.name, attributes=dict(e.attributes))
            for e in receipt.events
        ],
    )


def committed_json(record: TxRecord, runtime: Runtime | None = None) -> s.TransactionJson:
    return s.TransactionJson(
        tx_id=to_hex(record.tx_id),
        status="committed",
        height=record.height,
        index=record.index,
        tx=tx_json(record.tx, runtime),
        receipt=None if record.receipt is None else receipt_json(record.receipt),
    )


def qc_json(qc: QuorumCert) -> s.QuorumCertJson:
    return s.QuorumCertJson(
        epoch=qc.epoch,
        round=qc.round,
        height=qc.height,
        block_id=to_hex(qc.block_id),
        signers=list(qc.signers),
        signatures=[to_hex(sig) for sig in qc.signatures],
    )


def header_json(header: BlockHeader) -> s.HeaderJson:
    return s.HeaderJson(
        chain_id=header.chain_id,
        epoch=header.epoch,
        round=header.round,
        height=header.height,
        parent_id=to_hex(header.parent_id),
        proposer=header.proposer,
        timestamp_ms=header.timestamp_ms,
        tx_root=to_hex(header.tx_root),
        tx_count=header.tx_count,
        state_height=header.state_height,
        state_root=to_hex(header.state_root),
        receipts_root=to_hex(header.receipts_root),
        justify=qc_json(header.justify),
    )


def block_json(record: BlockRecord, hash_fn: Hasher) -> s.BlockJson:
    block = record.block
    return s.BlockJson(
        height=block.header.height,
        id=to_hex(record.block_id),
        header=header_json(block.header),
        transactions=[to_hex(tx_id(hash_fn, tx.body)) for tx in block.transactions],
        signature=to_hex(block.signature),
        certificate=None if record.certificate is None else qc_json(record.certificate),
    )


def account_json(record: AccountRecord, recent: list[bytes]) -> s.AccountJson:
    account = record.account
    return s.AccountJson(
        address=to_hex(record.address),
        exists=account is not None,
        nonce=0 if account is None else account.nonce,
        keys=[]
        if account is None
        else [
            s.AccountKeyJson(
                key_type=k.key_type, public_key=to_hex(k.public_key), weight=account.weight_of(i)
            )
            for i, k in enumerate(account.keys)
        ],
        frozen=False if account is None else account.frozen,
        balances=[s.BalanceJson(symbol=sym, amount=amount) for sym, amount in record.balances],
        height=record.height,
        recent_transactions=[to_hex(i) for i in recent],
        threshold=1 if account is None else account.threshold,
    )


def asset_json(asset: Asset) -> s.AssetJson:
    return s.AssetJson(
        symbol=asset.symbol,
        name=asset.name,
        issuer=to_hex(asset.issuer),
        decimals=asset.decimals,
        supply_rule=asset.supply_rule.value,
        max_supply=asset.max_supply,
        burnable=asset.burnable,
        supply=asset.supply,
    )


def asset_list_json(page: AssetPage) -> s.AssetListJson:
    return s.AssetListJson(
        height=page.height, assets=[asset_json(a) for a in page.assets], next=page.next
    )


def holders_json(page: HolderPage) -> s.HoldersJson:
    return s.HoldersJson(
        symbol=page.symbol,
        height=page.height,
        holders=[s.HolderJson(address=to_hex(a), amount=amount) for a, amount in page.holders],
        scanned=page.scanned,
        next=None if page.next is None else to_hex(page.next),
    )


def event_types_json(runtime: Runtime | None = None) -> list[s.EventTypeJson]:
    """Every event type of the chain's modules, by module then name ([EXEC-EVENT.1]).

    ``runtime`` is the chain's (its genesis's applications included); None: the built-ins.
    """
    modules = (runtime or _builtins()).modules
    return [
        s.EventTypeJson(
            module=name,
            name=event.event_name,
            fields=[s.EventFieldJson(name=f, type=t) for f, t in event.schema()],
        )
        for name in sorted(modules)
        for event in sorted(modules[name].events, key=lambda e: e.event_name)
    ]


def event_log_json(page: EventPage) -> s.EventLogJson:
    return s.EventLogJson(
        height=page.height,
        from_height=page.from_height,
        to_height=page.to_height,
        events=[
            s.LoggedEventJson(
                height=item.position.height,
                index=item.position.index,
                event=item.position.event,
                tx_id=to_hex(item.tx_id) if item.tx_id else None,
                module=item.event.module,
                name=item.event.name,
                attributes=dict(item.event.attributes),
            )
            for item in page.events
        ],
        next=None if page.next is None else page.next.cursor(),
    )


def state_json(record: StateRecord, header: BlockHeader | None) -> s.StateJson:
    return s.StateJson(
        key=to_hex(record.key),
        value=None if record.value is None else to_hex(record.value),
        version=record.version,
        root=to_hex(record.root),
        proof=to_hex(record.proof.to_bytes()),
        header_height=record.header_height,
        header=None if header is None else header_json(header),
    )


def status_json(status: NodeStatus) -> s.StatusJson:
    return s.StatusJson(
        name=status.name,
        chain_id=status.chain_id,
        suite=status.suite,
        validator_index=status.validator_index,
        height=status.height,
        state_root=to_hex(status.state_root),
        round=status.round,
        leader=status.leader,
        mempool_size=status.mempool_size,
        validators=status.validators,
        evidence=status.evidence,
        epoch=status.epoch,
        dropped_gossip=status.dropped_gossip,
        dropped_messages=status.dropped_messages,
    )


def epoch_json(start: EpochStart) -> s.EpochJson:
    """An epoch's start as JSON, with its canonical bytes."""
    return s.EpochJson(
        epoch=start.epoch,
        root_height=start.root_height,
        root_id=s.to_hex(start.root_id),
        validators=[
            s.ValidatorJson(
                name=v.name,
                organisation=v.organisation,
                address=s.to_hex(v.address),
                key_type=v.key_type,
                public_key=s.to_hex(v.public_key),
                weight=v.weight,
                endpoint=v.endpoint,
            )
            for v in start.validators.validators
        ],
        raw=s.to_hex(encode(start)),
    )
