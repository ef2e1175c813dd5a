"""Governance: charter, organisations, roles and permissions, weighted proposals (spec.md)."""

from consortia.modules.governance.handlers import (
    MODULE,
    PERMISSIONS,
    GovernanceModule,
    GovernancePermissions,
    effective_status,
    passes,
    tally,
)

__all__ = [
    "MODULE",
    "PERMISSIONS",
    "GovernanceModule",
    "GovernancePermissions",
    "effective_status",
    "passes",
    "tally",
]
