"""Assets module errors."""

from __future__ import annotations

from consortia.execution.errors import ModuleError


class AssetExists(ModuleError):
    """An asset with that symbol already exists."""

    code = "ASSET_EXISTS"


class AssetNotFound(ModuleError):
    """No asset with that symbol."""

    code = "ASSET_NOT_FOUND"
    http_status = 404


class NotIssuer(ModuleError):
    """Only the asset's issuer may do this."""

    code = "ASSET_NOT_ISSUER"
    http_status = 403


class InsufficientBalance(ModuleError):
    """The sender holds less than the amount."""

    code = "ASSET_INSUFFICIENT_BALANCE"


class SupplyExceeded(ModuleError):
    """Issuance would exceed the supply rule or 2**64 - 1 base units."""

    code = "ASSET_SUPPLY_EXCEEDED"


class InvalidSupplyRule(ModuleError):
    """The supply rule and max_supply do not fit together."""

    code = "ASSET_INVALID_SUPPLY_RULE"


class NotBurnable(ModuleError):
    """The asset was created without burning."""

    code = "ASSET_NOT_BURNABLE"
