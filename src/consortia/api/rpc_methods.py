"""The JSON-RPC method table: each method's param spec ([API-RPC-PARAMS.1]) and handler.

:data:`SPECS` is the one list of methods served over HTTP and WebSocket (the
fuzzers in tests/fuzz read it); :data:`SUBSCRIPTION_SPECS` adds the
WebSocket-only ``eth_subscribe``/``eth_unsubscribe``. There are no
Consortia-native (``consortia_*``) methods yet: the REST API under ``/v1``
serves the native operations.
"""

from __future__ import annotations

from typing import Any, Final

from consortia.api.client_limits import ClientLimits
from consortia.api.rpc_envelope import Method
from consortia.api.rpc_eth_chain import EthChain
from consortia.api.rpc_eth_objects import EthObjects, qty
from consortia.api.rpc_eth_send import EthSend
from consortia.api.rpc_eth_state import EthState
from consortia.api.rpc_params import (
    LATEST,
    NO_PARAMS,
    LogFilter,
    Param,
    ParamSpec,
    address,
    block,
    boolean,
    call_object,
    data,
    hash32,
    list_of,
    log_filter,
    one_of,
    optional,
    percentile,
    quantity,
    string,
)
from consortia.node.service import NodeService

CLIENT_VERSION: Final = "Consortia/v1/python"
MAX_PROOF_SLOTS: Final = 1024
MAX_PERCENTILES: Final = 100

_at_block = optional("block", block, LATEST)
_call = (Param("transaction", call_object), _at_block)

SPECS: Final[dict[str, ParamSpec]] = {
    "web3_clientVersion": NO_PARAMS,
    "net_version": NO_PARAMS,
    "net_listening": NO_PARAMS,
    "net_peerCount": NO_PARAMS,
    "eth_chainId": NO_PARAMS,
    "eth_syncing": NO_PARAMS,
    "eth_accounts": NO_PARAMS,
    "eth_mining": NO_PARAMS,
    "eth_blockNumber": NO_PARAMS,
    "eth_gasPrice": NO_PARAMS,
    "eth_maxPriorityFeePerGas": NO_PARAMS,
    "eth_feeHistory": (
        optional("blockCount", quantity, 1),
        optional("newestBlock", block, LATEST),
        optional("rewardPercentiles", list_of(percentile, max_items=MAX_PERCENTILES), []),
    ),
    "eth_getBlockByNumber": (
        optional("block", block, LATEST),
        optional("fullTransactions", boolean, False),
    ),
    "eth_getBlockByHash": (
        Param("blockHash", hash32),
        optional("fullTransactions", boolean, False),
    ),
    "eth_getBlockTransactionCountByNumber": (optional("block", block, LATEST),),
    "eth_getTransactionByHash": (Param("transactionHash", hash32),),
    "eth_getTransactionReceipt": (Param("transactionHash", hash32),),
    "eth_getTransactionCount": (Param("address", address), _at_block),
    "eth_getBalance": (Param("address", address), _at_block),
    "eth_getCode": (Param("address", address), _at_block),
    "eth_getStorageAt": (Param("address", address), Param("slot", quantity), _at_block),
    "eth_getProof": (
        Param("address", address),
        Param("storageKeys", list_of(quantity, max_items=MAX_PROOF_SLOTS)),
        _at_block,
    ),
    "eth_call": _call,
    "eth_estimateGas": _call,
    "eth_sendRawTransaction": (Param("transaction", data),),
    "eth_getLogs": (optional("filter", log_filter, LogFilter()),),
}
"""Every method's params, by method name."""

SUBSCRIPTION_SPECS: Final[dict[str, ParamSpec]] = {
    "eth_subscribe": (
        Param("subscription", one_of("newHeads", "logs")),
        optional("filter", log_filter, LogFilter()),
    ),
    "eth_unsubscribe": (Param("subscriptionId", string),),
}
"""The WebSocket-only methods (:mod:`consortia.api.rpc_subscriptions`)."""


def method_table(
    service: NodeService, clients: ClientLimits | None
) -> tuple[EthObjects, dict[str, Method]]:
    """The handlers over ``service``, each with its spec from :data:`SPECS`.

    ``clients`` bounds each client's EVM calls (None: the node serves none).
    """
    objects = EthObjects(service)
    chain, state = EthChain(objects), EthState(objects, clients)
    send = EthSend(service, objects.chain)
    handlers: dict[str, Any] = {
        "web3_clientVersion": lambda: CLIENT_VERSION,
        "net_version": lambda: str(objects.chain),
        "net_listening": lambda: True,
        "net_peerCount": lambda: qty(0),
        "eth_chainId": lambda: qty(objects.chain),
        "eth_syncing": lambda: False,
        "eth_accounts": lambda: [],
        "eth_mining": lambda: False,
        "eth_blockNumber": lambda: qty(objects.reader.height()),
        "eth_gasPrice": lambda: qty(0),
        "eth_maxPriorityFeePerGas": lambda: qty(0),
        "eth_feeHistory": chain.fee_history,
        "eth_getBlockByNumber": chain.block_by_number,
        "eth_getBlockByHash": chain.block_by_hash,
        "eth_getBlockTransactionCountByNumber": chain.block_tx_count,
        "eth_getTransactionByHash": chain.transaction_by_hash,
        "eth_getTransactionReceipt": chain.receipt,
        "eth_getTransactionCount": state.transaction_count,
        "eth_getBalance": state.balance,
        "eth_getCode": state.code,
        "eth_getStorageAt": state.storage_at,
        "eth_getProof": state.proof,
        "eth_call": state.call,
        "eth_estimateGas": state.estimate_gas,
        "eth_sendRawTransaction": send.send_raw,
        "eth_getLogs": chain.get_logs,
    }
    assert handlers.keys() == SPECS.keys(), "every method has a spec and a handler"
    many = {"eth_sendRawTransaction": send.send_many}
    table = {
        name: Method(spec=SPECS[name], handler=handlers[name], many=many.get(name))
        for name in SPECS
    }
    return objects, table
