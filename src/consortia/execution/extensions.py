"""Extension points a native module may implement beyond the ``Module`` protocol.

Applications are native modules; these optional protocols let one take part
in the chain's life without a change to the platform (docs/modules.md):

* :class:`GovernedMethods`: methods only an executed governance proposal may
  call ([EXT-GOV-CALL.1]); the proposal's effect runs the method with
  :data:`GOVERNANCE_AUTHORITY` as its sender.
* :class:`GenesisSection`: the module validates and installs its own part of
  the genesis ([EXT-GENESIS.1]); errors name the field inside the section.
* :class:`Migration`: a later version of a module migrates the earlier
  version's state once, at its activation height ([EXT-MIGRATE.1]).

Every protocol is checked with ``isinstance`` at the point of use, so a
module that implements none of them is unaffected.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from typing import Any, Final, Protocol, runtime_checkable

from consortia.codec import Canonical, CodecError, decode
from consortia.crypto import sha256
from consortia.errors import NodeError
from consortia.execution.errors import BadArguments, ExecutionError, UnknownMethod
from consortia.execution.module import BlockContext, Method, Module, TxContext
from consortia.execution.state_view import StateView

GOVERNANCE_AUTHORITY: Final = sha256(b"consortia/governance-authority/v1")[-20:]
"""The sender of a method that an executed proposal calls.

The last 20 bytes of a SHA-256 over a fixed tag: no key's address (a hash of
a public key) and no org-allocated address (a hash of a different encoding)
is it short of a 160-bit preimage search, so no transaction can be signed
for it."""


# ------------------------------------------------------------------ errors


class GovernanceOnly(ExecutionError):
    """A transaction called a method its module reserves for executed proposals."""

    code = "TX_GOVERNANCE_ONLY"
    http_status = 403


class NotGovernanceMethod(ExecutionError):
    """A proposal names a module method that is not governance-callable (or does not exist)."""

    code = "GOV_NOT_GOVERNANCE_METHOD"


class GenesisSectionError(NodeError):
    """A module refuses its genesis section; ``field`` is the path inside the section."""

    code = "GENESIS_SECTION_REFUSED"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field: Final = field
        self.problem: Final = problem


class MigrationFailed(ExecutionError):
    """A module version's migration raised or ran out of its gas bound; the block is not
    applied and the node stops, as for a missing version (install a release that fixes it)."""

    code = "EXEC_MIGRATION_FAILED"


# --------------------------------------------------------------- protocols


@runtime_checkable
class GovernedMethods(Protocol):
    """A module with methods that only an executed governance proposal may call."""

    governance_methods: Collection[str]
    """Names in ``methods`` that a transaction may not call directly ([EXT-GOV-CALL.1])."""


@runtime_checkable
class GenesisSection(Protocol):
    """A module that takes its own section of the genesis (``Genesis.modules``)."""

    genesis_type: type[Canonical]
    """The section's canonical type; the genesis carries its canonical bytes."""

    def validate_genesis(self, section: Any) -> None:
        """Check the decoded section; raise :class:`GenesisSectionError` naming the field."""
        ...

    def install_genesis(self, state: StateView, section: Any) -> None:
        """Write the section's initial state (after :meth:`validate_genesis` passed)."""
        ...


@runtime_checkable
class Migration(Protocol):
    """A module version that migrates the previous version's state when it activates."""

    migration_gas: int
    """The bound on the migration's work, in gas (state reads and writes are metered)."""

    def migrate(self, state: StateView, block: BlockContext) -> None:
        """Rewrite state for this version; deterministic, reads only ``state`` and ``block``."""
        ...


# ------------------------------------------------------- governance calls


def governance_methods(module: Module) -> frozenset[str]:
    """The methods of ``module`` reserved for executed proposals (none if it declares none)."""
    if isinstance(module, GovernedMethods):
        return frozenset(module.governance_methods)
    return frozenset()


def check_direct_call(module: Module, method: str) -> None:
    """Refuse a transaction's direct call of a governance-only method.

    Raises:
        GovernanceOnly: ``TX_GOVERNANCE_ONLY``.
    """
    if method in governance_methods(module):
        raise GovernanceOnly(
            f"{module.name}.{method} is callable only by an executed governance proposal "
            "(propose kind call_module)"
        )


def governed_method(modules: Mapping[str, Module], module: str, method: str) -> Method[Any]:
    """The governance-callable ``module.method`` among the modules in force.

    Raises:
        NotGovernanceMethod: no such module or method, or the module does not
            declare the method governance-callable.
    """
    found = modules.get(module)
    if found is None:
        raise NotGovernanceMethod(f"call_module.module: no module {module!r}")
    if method not in found.methods:
        raise NotGovernanceMethod(f"call_module.method: module {module!r} has no method {method!r}")
    declared = governance_methods(found)
    if method not in declared:
        listed = ", ".join(sorted(declared)) or "none"
        raise NotGovernanceMethod(
            f"call_module.method: {module}.{method} is not declared governance-callable "
            f"(the module's governance methods: {listed})"
        )
    return found.methods[method]


def decode_call_args(method: Method[Any], module: str, name: str, args: bytes) -> Any:
    """``args`` decoded with the method's argument type.

    Raises:
        BadArguments: ``TX_BAD_ARGS``, naming the method.
    """
    if method.args_type is bytes:
        return args
    try:
        return decode(args, method.args_type)
    except CodecError as exc:
        raise BadArguments(f"call_module.args: {module}.{name} arguments: {exc.message}") from None


def call_as_governance(ctx: TxContext, module: str, method: str, args: bytes) -> None:
    """Run ``module.method(args)`` with :data:`GOVERNANCE_AUTHORITY` as its sender.

    The method's gas is charged to the running transaction, its events are
    the target module's and join the transaction's receipt, and the addresses
    it touches are the transaction's. The caller holds the checkpoint: if
    this raises, the method's writes are rolled back with the effect's.

    Raises:
        NotGovernanceMethod, BadArguments, or whatever the method raises.
    """
    if not ctx.modules:
        raise UnknownMethod("this transaction context carries no module table")
    found = governed_method(ctx.modules, module, method)
    if ctx.state.meter is not None:
        ctx.state.meter.charge(found.gas, f"{module}.{method}")
    decoded = decode_call_args(found, module, method, args)
    call = dataclasses.replace(
        ctx, sender=GOVERNANCE_AUTHORITY, module=module, nonce=0, events=[], touched=set()
    )
    found.handler(call, decoded)
    ctx.events.extend(call.events)
    ctx.touched.update(call.touched)


__all__ = [
    "GOVERNANCE_AUTHORITY",
    "GenesisSection",
    "GenesisSectionError",
    "GovernanceOnly",
    "GovernedMethods",
    "Migration",
    "MigrationFailed",
    "NotGovernanceMethod",
    "call_as_governance",
    "check_direct_call",
    "decode_call_args",
    "governance_methods",
    "governed_method",
]
