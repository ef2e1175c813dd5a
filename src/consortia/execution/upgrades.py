"""Module versions in force, switched at heights that governance schedules.

Following the Cosmos SDK's ``x/upgrade``: an executed ``schedule_upgrade``
proposal records (module, version, activation height) in state. From that
height every node executes the module's calls with that version's code, so
the switch is a function of the ordered blocks. A node whose software lacks
the version stops before executing the activation height (``UpgradeRequired``)
rather than execute it with the old code and fork; the operator installs the
release that carries it and restarts, and the node resumes from its ledger.
Version ``1`` is each module as first shipped.
"""

from __future__ import annotations

from typing import Final

from consortia.codec import U64, Canonical, Name, decode
from consortia.execution.errors import ExecutionError
from consortia.execution.state_view import StateView

VERSION_PREFIX: Final = b"chain/module_versions/"
BUILTIN_VERSION: Final = "1"


class ModuleVersion(Canonical, frozen=True):
    """A version of ``module`` in force from ``activation_height`` on."""

    module: Name
    version: str
    activation_height: U64


class UpgradeRequired(ExecutionError):
    """A scheduled module version activates and this node's software does not have it."""

    code = "EXEC_UPGRADE_REQUIRED"


def version_key(module: str) -> bytes:
    """State key of ``module``'s scheduled version."""
    return VERSION_PREFIX + module.encode()


def schedule(state: StateView, record: ModuleVersion) -> None:
    """Record a version to activate (replacing an earlier schedule of that module)."""
    state.put_struct(version_key(record.module), record)


def versions_at(state: StateView, height: int) -> dict[str, str]:
    """Modules whose scheduled version is in force at ``height`` (others run version 1)."""
    in_force = {}
    for _, raw in state.iterate(VERSION_PREFIX):
        record = decode(raw, ModuleVersion)
        if record.activation_height <= height and record.version != BUILTIN_VERSION:
            in_force[record.module] = record.version
    return in_force
