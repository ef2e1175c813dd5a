"""Genesis: the chain's first state and block, a pure function of the genesis file.

``genesis.bin`` (canonical bytes of :class:`Genesis`) is the authoritative
file every node of a network shares; its hash is part of the genesis block.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Final

import lmdb

from consortia.codec import U64, Canonical, CodecError, Name, decode, encode
from consortia.crypto import get_suite
from consortia.errors import NodeError
from consortia.execution import transition
from consortia.execution.applications import (
    ENTRY_POINT_GROUP,
    ApplicationNotFound,
    BadApplication,
    installed_application,
)
from consortia.execution.epochs import VALIDATORS_KEY
from consortia.execution.errors import ExecutionError
from consortia.execution.executor import Runtime
from consortia.execution.extensions import GenesisSection, GenesisSectionError
from consortia.execution.policy import POLICY_KEY, ChainPolicy, policy_problem
from consortia.execution.state_view import StateView
from consortia.ledger.merkle import merkle_root
from consortia.ledger.store import BlockStore
from consortia.ledger.types import (
    ZERO_HASH,
    Block,
    BlockHeader,
    ChainId,
    QuorumCert,
    ValidatorSet,
    block_id,
    epoch_root_qc,
)
from consortia.modules import accounts, assets, governance
from consortia.modules.accounts.handlers import key_address
from consortia.modules.accounts.types import MAX_KEYS, GenesisAccount
from consortia.modules.governance.charter import validate_charter
from consortia.modules.governance.errors import InvalidCharter
from consortia.modules.governance.types import Charter
from consortia.state import StateTree

GENESIS_KEY: Final = b"chain/genesis"


class ModuleGenesis(Canonical, frozen=True):
    """One module's own section of the genesis ([EXT-GENESIS.1])."""

    module: Name
    section: bytes
    """Canonical bytes of the module's ``genesis_type``."""

    @classmethod
    def of(cls, module: str, section: Canonical) -> ModuleGenesis:
        """The section ``section`` of ``module``, encoded."""
        return cls(module=module, section=encode(section))


class Genesis(Canonical, frozen=True):
    """Everything a network agrees on before block 1."""

    chain_id: ChainId
    suite: str
    """``sm`` or ``intl``."""
    timestamp_ms: U64
    policy: ChainPolicy
    validators: ValidatorSet
    accounts: tuple[GenesisAccount, ...] = ()
    governance: Charter = Charter()
    """The charter: organisations, committee, thresholds, roles, permissions."""
    modules: tuple[ModuleGenesis, ...] = ()
    """Sections of modules that take one (``GenesisSection``), sorted by module name."""
    applications: tuple[str, ...] = ()
    """Applications whose modules the chain runs besides the built-ins, sorted and unique;
    each resolves through the ``consortia.applications`` entry points ([GENESIS-APPS.1])."""


APP_NAME: Final = re.compile(r"[a-z][a-z0-9_-]{0,31}")
"""An application's name in the genesis: 1-32 of ``a-z 0-9 _ -``, starting with a letter."""


class InvalidGenesis(NodeError):
    """The genesis file breaks a rule every network must hold to."""

    code = "GENESIS_INVALID"


class InvalidModuleSection(InvalidGenesis):
    """A module section of the genesis is refused; the message names the field
    (``genesis.modules.<module>.<path>: ...``)."""

    code = "GENESIS_MODULE_INVALID"


class ApplicationNotInstalled(InvalidGenesis):
    """The genesis names an application this node's software does not carry."""

    code = "GENESIS_APP_NOT_INSTALLED"


class ApplicationConflict(InvalidGenesis):
    """Two applications, or an application and a built-in, define one module."""

    code = "GENESIS_APP_CONFLICT"


class ApplicationBroken(InvalidGenesis):
    """An installed application's entry point does not load to an ``Application``."""

    code = "GENESIS_APP_INVALID"


def module_sections(genesis: Genesis, runtime: Runtime) -> list[tuple[GenesisSection, object]]:
    """Each module section decoded and validated by its module ([EXT-GENESIS.1]).

    Returns:
        ``(module, section)`` pairs in the genesis's (module-name) order.

    Raises:
        InvalidModuleSection: naming the section's field at fault.
    """
    checked: list[tuple[GenesisSection, object]] = []
    previous = ""
    for i, entry in enumerate(genesis.modules):
        where = f"genesis.modules[{i}].module"
        if entry.module <= previous:
            raise InvalidModuleSection(
                f"{where}: {entry.module!r} is out of order or repeated; one section per "
                "module, sorted by module name"
            )
        previous = entry.module
        module = runtime.modules.get(entry.module)
        if module is None:
            raise InvalidModuleSection(f"{where}: no module {entry.module!r} in this runtime")
        if not isinstance(module, GenesisSection):
            raise InvalidModuleSection(f"{where}: module {entry.module!r} takes no genesis section")
        path = f"genesis.modules.{entry.module}"
        try:
            section = decode(entry.section, module.genesis_type)
        except CodecError as exc:
            raise InvalidModuleSection(f"{path}: {exc.message}") from None
        try:
            module.validate_genesis(section)
        except GenesisSectionError as exc:
            raise InvalidModuleSection(f"{path}.{exc.field}: {exc.problem}") from None
        checked.append((module, section))
    return checked


def validate_genesis(genesis: Genesis) -> None:
    """Check what decoding alone cannot ([GENESIS-VALID.1]).

    Raises:
        InvalidGenesis: naming the first broken rule.
    """
    get_suite(genesis.suite)
    problem = policy_problem(genesis.policy)
    if problem is not None:
        raise InvalidGenesis(f"policy: {problem}")
    validators = genesis.validators.validators
    if not validators:
        raise InvalidGenesis("the genesis validator set is empty")
    for field, values in (
        ("name", [v.name for v in validators]),
        ("public key", [v.public_key for v in validators]),
    ):
        if len(set(values)) != len(values):
            raise InvalidGenesis(f"two genesis validators share a {field}")
    consensus_type = get_suite(genesis.suite).consensus_key_type.value
    for v in validators:
        if v.weight == 0:
            raise InvalidGenesis(f"validator {v.name} has weight 0")
        if v.key_type != consensus_type:
            raise InvalidGenesis(
                f"validator {v.name} has a {v.key_type} key; suite needs {consensus_type}"
            )
        if key_address(v.key_type, v.public_key) != v.address:
            raise InvalidGenesis(f"validator {v.name}'s address is not its key's address")
    addresses = [a.address for a in genesis.accounts]
    if len(set(addresses)) != len(addresses):
        raise InvalidGenesis("two genesis accounts share an address")
    for account in genesis.accounts:
        if not 1 <= len(account.keys) <= MAX_KEYS:
            raise InvalidGenesis(
                f"genesis account {account.address.hex()} needs 1 to {MAX_KEYS} keys"
            )
        for key in account.keys:
            try:
                key_address(key.key_type, key.public_key)
            except ExecutionError as exc:
                raise InvalidGenesis(f"invalid key in genesis: {exc.message}") from None
    try:
        validate_charter(genesis.governance)
    except InvalidCharter as exc:
        raise InvalidGenesis(exc.message) from None
    validate_application_names(genesis.applications)


def validate_application_names(names: tuple[str, ...]) -> None:
    """Each name well formed, the tuple sorted and without repeats ([GENESIS-APPS.1]).

    Raises:
        InvalidGenesis: naming ``applications[i]``.
    """
    for i, name in enumerate(names):
        if APP_NAME.fullmatch(name) is None:
            raise InvalidGenesis(
                f"applications[{i}]: {name!r} is not an application name "
                "(1-32 of a-z 0-9 _ -, starting with a letter)"
            )
        if i and name <= names[i - 1]:
            raise InvalidGenesis(
                f"applications[{i}]: {name!r} is out of order or repeated; "
                "name each application once, sorted"
            )


def runtime_for(genesis: Genesis) -> Runtime:
    """The runtime of the chain ``genesis`` defines: the built-ins and its applications.

    Every node and the verifier build their runtime here, so a chain's modules follow
    from its genesis alone ([GENESIS-APPS.1]).

    Raises:
        InvalidGenesis: a malformed ``applications`` list.
        ApplicationNotInstalled: a named application is not installed here.
        ApplicationBroken: its entry point does not load to an ``Application``.
        ApplicationConflict: a module name is taken by a built-in or another application.
    """
    base = default_runtime()
    if not genesis.applications:
        return base
    validate_application_names(genesis.applications)
    modules = dict(base.modules)
    owner = dict.fromkeys(base.modules, "the built-in modules")
    upgrades = dict(base.upgrades)
    for name in genesis.applications:
        try:
            app = installed_application(name)
        except ApplicationNotFound:
            raise ApplicationNotInstalled(
                f"genesis application {name!r} is not installed: no entry point {name!r} in "
                f"group {ENTRY_POINT_GROUP!r}; install the distribution that provides it"
            ) from None
        except BadApplication as exc:
            raise ApplicationBroken(f"genesis application {name!r}: {exc}") from None
        own = {m.name for m in app.modules}
        for module in app.modules:
            taken = owner.get(module.name)
            if taken is not None:
                raise ApplicationConflict(
                    f"genesis application {name!r}: module {module.name!r} is already "
                    f"defined by {taken if taken.startswith('the ') else repr(taken)}"
                )
            owner[module.name] = name
            modules[module.name] = module
        for key, module in app.upgrades.items():
            if key[0] not in own:
                raise ApplicationConflict(
                    f"genesis application {name!r}: carries version {key[1]} of module "
                    f"{key[0]!r}, which it does not define"
                )
            upgrades[key] = module
    return Runtime(
        modules=modules,
        authority=base.authority,
        permissions=base.permissions,
        upgrades=upgrades,
    )


def default_runtime() -> Runtime:
    """The native modules every chain runs, the accounts authority, governance permissions.

    A chain's own runtime is :func:`runtime_for` its genesis; this one is for what
    needs the built-ins alone (the CLI's argument types when it has no genesis).

    The EVM module is imported here, not at the top: it loads py-evm (about a second), and
    the CLI imports this module for the :class:`Genesis` type alone.
    """
    from consortia.evm import module as evm

    return Runtime(
        modules={
            m.name: m for m in (accounts.MODULE, assets.MODULE, governance.MODULE, evm.MODULE)
        },
        authority=accounts.AUTHORITY,
        permissions=governance.PERMISSIONS,
    )


def genesis_qc(genesis_block_id: bytes, epoch: int) -> QuorumCert:
    """The certificate of the genesis block: round 0, no signatures ([CONS-GENESIS.1])."""
    return epoch_root_qc(epoch, 0, genesis_block_id)


def genesis_state(
    genesis: Genesis, runtime: Runtime, tree: StateTree, txn: lmdb.Transaction
) -> dict[bytes, bytes | None]:
    """The writes of the genesis state (version 0): policy, validators, each module's.

    Raises:
        InvalidGenesis: see :func:`validate_genesis`; InvalidModuleSection, see
            :func:`module_sections`.
    """
    validate_genesis(genesis)
    sections = module_sections(genesis, runtime)
    hash_fn = get_suite(genesis.suite).hash
    view = StateView(tree, txn, None)
    view.put_struct(POLICY_KEY, genesis.policy)
    view.put_struct(VALIDATORS_KEY, genesis.validators)
    view.set(GENESIS_KEY, hash_fn(encode(genesis)))
    for name in sorted(runtime.modules):
        runtime.modules[name].init_genesis(view, genesis)
    for module, section in sections:
        module.install_genesis(view, section)
    return view.changes()


def assemble_genesis_block(genesis: Genesis, state_root: bytes) -> tuple[Block, bytes]:
    """The genesis block over the genesis state's root, and its id."""
    hash_fn = get_suite(genesis.suite).hash
    empty = merkle_root(hash_fn, [])
    header = BlockHeader(
        chain_id=genesis.chain_id,
        epoch=genesis.validators.epoch,
        round=0,
        height=0,
        parent_id=ZERO_HASH,
        proposer=0,
        timestamp_ms=genesis.timestamp_ms,
        tx_root=empty,
        tx_count=0,
        state_height=0,
        state_root=state_root,
        receipts_root=empty,
        justify=genesis_qc(ZERO_HASH, genesis.validators.epoch),
    )
    return Block(header=header, transactions=(), signature=b""), block_id(hash_fn, header)


def install_genesis(
    env: lmdb.Environment,
    store: BlockStore,
    tree: StateTree,
    genesis: Genesis,
    runtime: Runtime,
) -> tuple[Block, bytes]:
    """Install ``genesis`` into a fresh store ([EXEC-TRANSITION.1]); the node and the
    verifier both call this, so they bind the block transition to a genesis one way.

    Raises:
        InvalidGenesis: see :func:`validate_genesis`.
    """
    return transition.install_genesis(
        env,
        store,
        tree,
        validators=genesis.validators,
        writes=lambda txn: genesis_state(genesis, runtime, tree, txn),
        assemble=partial(assemble_genesis_block, genesis),
    )


def build_genesis(
    genesis: Genesis, runtime: Runtime, tree: StateTree, txn: lmdb.Transaction
) -> tuple[Block, bytes]:
    """Write the genesis state as version 0 in ``txn``; return the genesis block and its id.

    Raises:
        InvalidGenesis: see :func:`validate_genesis`.
    """
    root = tree.apply(txn, 0, genesis_state(genesis, runtime, tree, txn))
    return assemble_genesis_block(genesis, root)
