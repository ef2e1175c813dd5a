"""A governed chain that runs an application module (``limits``) with its own roles.

The committee and org1 are those of tests/governance/helpers.py; the charter
adds the application's roles and a permission that names one::

    declared roles: central_bank, csd_participant, device_gateway, operating_bank
    alice: operating_bank            limits.spend needs operating_bank
    limits.set_limit: governance-only (the module declares it)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import msgspec
from tests.execution.chain import Chain, address, genesis_for
from tests.execution.ext_modules import LimitsModule
from tests.governance.helpers import ADMIN, ALICE, BOB, G1, G2, G3, Gov, charter

from consortia.genesis import default_runtime
from consortia.modules.governance.types import (
    DEFAULT_PERMISSIONS,
    Charter,
    Permission,
    RoleDeclaration,
    RoleGrant,
)

APP_ROLES = ("central_bank", "operating_bank", "csd_participant", "device_gateway")


def app_charter() -> Charter:
    """The helpers' charter plus the application's roles and permissions."""
    return msgspec.structs.replace(
        charter(),
        declared_roles=tuple(RoleDeclaration(name=r, description=f"the {r}") for r in APP_ROLES),
        roles=(RoleGrant(address=address(ALICE), role="operating_bank"),),
        permissions=(
            *DEFAULT_PERMISSIONS,
            Permission(module="limits", method="*"),
            Permission(module="limits", method="spend", roles=("operating_bank",)),
        ),
    )


def app_chain(path: Path, governance: Charter | None = None) -> Iterator[Gov]:
    """The governed chain with the ``limits`` module in its runtime (``governance``: the
    charter, :func:`app_charter` by default)."""
    base = default_runtime()
    runtime = dataclasses.replace(base, modules={**base.modules, "limits": LimitsModule()})
    genesis = msgspec.structs.replace(
        genesis_for([G1, G2, G3, ADMIN, ALICE, BOB]), governance=governance or app_charter()
    )
    chain = Chain.open(path, genesis, runtime)
    yield Gov(chain)
    chain.close()
