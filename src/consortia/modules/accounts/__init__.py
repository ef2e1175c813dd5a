"""Accounts: keys registered to addresses, and nonces (spec: spec.md beside this file)."""

from consortia.modules.accounts.handlers import (
    AUTHORITY,
    MODULE,
    AccountsModule,
    authorize_sender,
    checked_keys,
    load_account,
)

__all__ = [
    "AUTHORITY",
    "MODULE",
    "AccountsModule",
    "authorize_sender",
    "checked_keys",
    "load_account",
]
