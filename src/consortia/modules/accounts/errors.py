"""Accounts module errors."""

from __future__ import annotations

from consortia.execution.errors import ModuleError


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
