"""Accounts module errors."""

from __future__ import annotations

from consortia.execution.errors import ModuleError, Unauthorized


class KeyAlreadyRegistered(ModuleError):
    """The key is already registered to the account."""

    code = "ACCOUNTS_KEY_EXISTS"


class KeyNotRegistered(ModuleError):
    """The key to remove is not registered to the account."""

    code = "ACCOUNTS_KEY_NOT_FOUND"


class LastKey(ModuleError):
    """An account must keep at least one key."""

    code = "ACCOUNTS_LAST_KEY"


class TooManyKeys(ModuleError):
    """An account may hold at most MAX_KEYS keys."""

    code = "ACCOUNTS_TOO_MANY_KEYS"


class ThresholdZero(ModuleError):
    """A multisig threshold must be at least 1 (zero would need no signature)."""

    code = "ACCOUNTS_THRESHOLD_ZERO"


class ThresholdUnreachable(ModuleError):
    """The threshold is above the total weight of the keys: no transaction could meet it."""

    code = "ACCOUNTS_THRESHOLD_UNREACHABLE"


class WeightZero(ModuleError):
    """A key of a multisig account must weigh at least 1."""

    code = "ACCOUNTS_WEIGHT_ZERO"


class WeightOverflow(ModuleError):
    """The weights of an account's keys add up to more than a U64 holds."""

    code = "ACCOUNTS_WEIGHT_OVERFLOW"


class DuplicateSigner(Unauthorized):
    """A transaction carries two signatures of the same key (either SEC1 form)."""

    code = "TX_DUPLICATE_SIGNER"


class SignerNotInSet(Unauthorized):
    """A co-signer of a multisig transaction is not a key of the sender's account."""

    code = "TX_SIGNER_NOT_IN_SET"


class BelowThreshold(Unauthorized):
    """The weights of a transaction's signers add up to less than the account's threshold."""

    code = "TX_BELOW_THRESHOLD"


class TooManySignatures(Unauthorized):
    """A transaction carries more than MAX_SIGNATURES signatures."""

    code = "TX_TOO_MANY_SIGNATURES"
