"""Transaction rejection and failure codes, shared by the mempool and execution.

Tree::

    ExecutionError                 EXEC_ERROR
     ├── TxInvalid                 TX_INVALID          (stateless: never valid)
     │    ├── WrongChain           TX_WRONG_CHAIN
     │    ├── BadSignature         TX_BAD_SIGNATURE
     │    ├── KeyTypeNotAllowed    TX_KEY_TYPE_NOT_ALLOWED
     │    ├── TxTooLarge           TX_TOO_LARGE
     │    └── GasLimitTooHigh      TX_GAS_LIMIT_TOO_HIGH
     ├── Expired                   TX_EXPIRED
     ├── AlreadyCommitted          TX_ALREADY_COMMITTED  a repeat: no effect
     ├── StaleNonce                TX_STALE_NONCE
     ├── FutureNonce               TX_FUTURE_NONCE
     ├── Unauthorized              TX_UNAUTHORIZED     key not registered to sender
     ├── AccountFrozen             TX_ACCOUNT_FROZEN
     ├── PermissionDenied          TX_PERMISSION_DENIED no role may call module.method
     ├── UnknownMethod             TX_UNKNOWN_METHOD
     ├── BadArguments              TX_BAD_ARGS
     │    └── InvalidName          TX_BAD_NAME         text rule [EXEC-TEXT.1] (execution/text.py)
     ├── OutOfGas                  TX_OUT_OF_GAS
     │    └── EndBlockOutOfGas     END_BLOCK_OUT_OF_GAS a hook past policy.end_block_gas
     └── ModuleError               MODULE_ERROR        (each module's own subclasses)
"""

from __future__ import annotations

from consortia.errors import NodeError


class ExecutionError(NodeError):
    """A transaction cannot be accepted or did not succeed."""

    code = "EXEC_ERROR"


class TxInvalid(ExecutionError):
    """The transaction is invalid whatever the state."""

    code = "TX_INVALID"


class WrongChain(TxInvalid):
    """The transaction names another chain id."""

    code = "TX_WRONG_CHAIN"


class BadSignature(TxInvalid):
    """The signature does not verify with the transaction's public key."""

    code = "TX_BAD_SIGNATURE"


class KeyTypeNotAllowed(TxInvalid):
    """Chain policy does not allow this account key type."""

    code = "TX_KEY_TYPE_NOT_ALLOWED"


class TxTooLarge(TxInvalid):
    """The encoded transaction exceeds the policy's size limit."""

    code = "TX_TOO_LARGE"
    http_status = 413


class GasLimitTooHigh(TxInvalid):
    """The transaction's gas limit exceeds the policy's per-transaction cap."""

    code = "TX_GAS_LIMIT_TOO_HIGH"


class Expired(ExecutionError):
    """The chain is past the transaction's expiry height."""

    code = "TX_EXPIRED"


class AlreadyCommitted(ExecutionError):
    """The same transaction was committed before (a repeat in a certified block)."""

    code = "TX_ALREADY_COMMITTED"


class StaleNonce(ExecutionError):
    """The nonce is below the account's next nonce (already used)."""

    code = "TX_STALE_NONCE"


class FutureNonce(ExecutionError):
    """The nonce is above the account's next nonce (a gap)."""

    code = "TX_FUTURE_NONCE"


class Unauthorized(ExecutionError):
    """The signing key is not registered to the sender account, or lacks permission."""

    code = "TX_UNAUTHORIZED"
    http_status = 403


class AccountFrozen(ExecutionError):
    """The sender account is frozen."""

    code = "TX_ACCOUNT_FROZEN"
    http_status = 403


class PermissionDenied(ExecutionError):
    """The permission table lets no role of the sender call this module.method."""

    code = "TX_PERMISSION_DENIED"
    http_status = 403


class UnknownMethod(ExecutionError):
    """No module/method of that name."""

    code = "TX_UNKNOWN_METHOD"


class BadArguments(ExecutionError):
    """The arguments do not decode into the method's argument type."""

    code = "TX_BAD_ARGS"


class OutOfGas(ExecutionError):
    """The transaction used more gas than its limit."""

    code = "TX_OUT_OF_GAS"


class EndBlockOutOfGas(OutOfGas):
    """A module's end-of-block hook used more than the policy's ``end_block_gas``."""

    code = "END_BLOCK_OUT_OF_GAS"


class ModuleError(ExecutionError):
    """A module refused the call; subclasses carry module-specific codes."""

    code = "MODULE_ERROR"
