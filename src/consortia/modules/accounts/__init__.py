"""Accounts: keys registered to addresses, and nonces (spec: spec.md beside this file)."""

from consortia.modules.accounts.handlers import (
    AUTHORITY,
    MODULE,
    AccountsModule,
    authorize_sender,
    check_signers,
    checked_keys,
    checked_policy,
    load_account,
    store_account,
)

__all__ = [
    "AUTHORITY",
    "MODULE",
    "AccountsModule",
    "authorize_sender",
    "check_signers",
    "checked_keys",
    "checked_policy",
    "load_account",
    "store_account",
]
