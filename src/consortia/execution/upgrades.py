"""Module versions in force, switched at heights that governance schedules.

Following the Cosmos SDK's ``x/upgrade``: an executed ``schedule_upgrade``
proposal records (module, version, activation height) in state. From that
height every node executes the module's calls with that version's code, so
the switch is a function of the ordered blocks. A node whose software lacks
the version stops before executing the activation height (``UpgradeRequired``)
rather than execute it with the old code and fork; the operator installs the
release that carries it and restarts, and the node resumes from its ledger.
Version ``1`` is each module as first shipped.

A version may carry a migration ([EXT-MIGRATE.1], ``extensions.Migration``): it runs
once, at the start of the activation height's block, before that
block's first transaction, metered against the version's own gas bound. A
record under ``chain/module_migrations/`` makes it run exactly once even if
the same version is scheduled again. A migration that fails stops the block
(``EXEC_MIGRATION_FAILED``) on every node alike: the chain waits for a
release whose migration succeeds, rather than run the new code over the old
layout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from consortia.codec import U64, Canonical, Name, decode
from consortia.execution.errors import ExecutionError
from consortia.execution.extensions import Migration, MigrationFailed
from consortia.execution.gas import GasMeter
from consortia.execution.module import BlockContext, Module
from consortia.execution.state_view import StateView

VERSION_PREFIX: Final = b"chain/module_versions/"
MIGRATED_PREFIX: Final = b"chain/module_migrations/"
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


class MigrationRecord(Canonical, frozen=True):
    """A migration that ran (key ``chain/module_migrations/<module>/<version>``)."""

    module: Name
    version: str
    height: U64
    """The activation height whose block ran it."""
    gas_used: U64


def migrated_key(module: str, version: str) -> bytes:
    """State key of the record that ``module`` ``version`` has migrated."""
    return MIGRATED_PREFIX + module.encode() + b"/" + version.encode()


def activations_at(state: StateView, height: int) -> list[ModuleVersion]:
    """Versions (other than 1) whose activation height is exactly ``height``, by module name."""
    return [
        record
        for _, raw in state.iterate(VERSION_PREFIX)
        if (record := decode(raw, ModuleVersion)).activation_height == height
        and record.version != BUILTIN_VERSION
    ]


def run_migrations(modules: Mapping[str, Module], state: StateView, block: BlockContext) -> None:
    """Run the migration of each version activating at ``block.height`` ([EXT-MIGRATE.1]).

    ``modules`` are the modules in force at the height (the new versions).
    Each migration runs once, in module-name order, in its own checkpoint,
    metered against its ``migration_gas``; the record of it is written after.

    Raises:
        MigrationFailed: a migration raised or exceeded its gas bound; its
            writes are rolled back and the caller must not apply the block.
    """
    for record in activations_at(state, block.height):
        module = modules.get(record.module)
        if not isinstance(module, Migration):
            continue
        key = migrated_key(record.module, record.version)
        if state.get(key) is not None:
            continue
        meter = GasMeter(limit=module.migration_gas)
        outer, state.meter = state.meter, meter
        try:
            with state.transaction():
                module.migrate(state, block)
        except ExecutionError as exc:
            raise MigrationFailed(
                f"migration of {record.module} version {record.version} at height "
                f"{block.height} failed: {exc.code}: {exc.message}"
            ) from None
        finally:
            state.meter = outer
        state.put_struct(
            key,
            MigrationRecord(
                module=record.module,
                version=record.version,
                height=block.height,
                gas_used=meter.used,
            ),
        )
