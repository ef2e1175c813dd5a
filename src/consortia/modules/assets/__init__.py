"""Assets: fungible assets with issuers, supply rules and balances (spec: spec.md)."""

from consortia.modules.assets.handlers import MODULE, AssetsModule, balance_of, load_asset

__all__ = ["MODULE", "AssetsModule", "balance_of", "load_asset"]
