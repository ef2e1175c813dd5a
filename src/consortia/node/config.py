"""A node's home directory and its ``node.toml`` configuration.

Layout of a node home (written by ``consortia init``)::

    HOME/node.toml          this file: name, addresses, peers, timing
    HOME/genesis.bin        canonical genesis shared by the whole network
    HOME/genesis.json       the same, readable
    HOME/keys/validator.pem consensus key (PKCS#8 PEM), validators only
    HOME/data/ledger/       LMDB: blocks, receipts, indexes, state
    HOME/data/consensus/    LMDB: safety data, pending blocks
    HOME/node.pid           pid of the running node
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final, Literal

import msgspec

from consortia.errors import NodeError

LEDGER_MAP_SIZE: Final = 1 << 36
"""64 GiB of address space for the ledger environment (sparse on disk)."""


class ConfigError(NodeError):
    """Node or network configuration is missing or invalid."""

    code = "CONFIG_ERROR"


Port = Annotated[int, msgspec.Meta(ge=0, le=65_535)]


class PeerConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Another node this node connects to."""

    name: str
    host: str
    port: Port


class NodeConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Settings of one node; timings are local choices, not consensus rules."""

    name: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}\Z")]
    chain_id: str
    api_host: str = "127.0.0.1"
    api_port: Port = 8545
    p2p_host: str = "127.0.0.1"
    p2p_port: Port = 26656
    peers: tuple[PeerConfig, ...] = ()
    min_block_interval_ms: Annotated[int, msgspec.Meta(ge=0, le=60_000)] = 50
    """Least time between a block and its child (batches transactions under load)."""
    idle_block_interval_ms: Annotated[int, msgspec.Meta(ge=10, le=3_600_000)] = 1_000
    """An empty block is proposed after this long without transactions."""
    base_timeout_ms: Annotated[int, msgspec.Meta(ge=100, le=600_000)] = 3_000
    max_clock_skew_ms: Annotated[int, msgspec.Meta(ge=0)] = 60_000
    """Proposals stamped further ahead of the local clock are refused."""
    mempool_max_txs: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] = 20_000
    """Pending transactions held at most; past it, admissions get ``MEMPOOL_FULL``."""
    mempool_max_mib: Annotated[int, msgspec.Meta(ge=1, le=65_536)] = 64
    """Encoded bytes of pending transactions held at most, in MiB."""
    mempool_gap_timeout_blocks: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] = 1_000
    """Blocks a sender's transactions may wait behind a nonce gap before they are dropped."""
    mempool_journal: bool = True
    """Journal admitted client transactions (``data/mempool.journal``) and admit them
    again on start, so a 202 survives the node being killed."""
    evm_call_workers: Annotated[int, msgspec.Meta(ge=1, le=64)] = 2
    """Worker processes that run ``eth_call`` / ``eth_estimateGas`` (never the consensus
    loop; ``node/read_pool.py``)."""
    evm_call_queue: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 16
    """Calls that may wait for a free worker; past it a call gets ``READ_POOL_BUSY``."""
    evm_call_gas_cap: Annotated[int, msgspec.Meta(ge=21_000, le=1_000_000_000)] = 10_000_000
    """Most gas one call may burn (also bounded by the chain's ``max_tx_gas``);
    a call that runs out of gas at this cap gets ``READ_CALL_GAS_CAP``."""
    evm_call_timeout_ms: Annotated[int, msgspec.Meta(ge=10, le=600_000)] = 2_000
    """CPU-time budget of one call in its worker (ten times it in wall time); past it
    ``READ_CALL_TIMEOUT``."""
    evm_call_priority: Literal["idle", "normal"] = "idle"
    """CPU class of the call workers: ``idle`` runs calls only on CPU time the node leaves
    (a validator); ``normal`` shares the CPU fairly (a node that serves reads)."""
    evm_call_client_rate: Annotated[float, msgspec.Meta(gt=0, le=1_000_000)] = 10.0
    """Calls per second one client may start (a token bucket holding one second's
    worth); past it ``API_RATE_LIMITED``. A client is its IP address until
    authentication gives it an identity."""
    evm_call_client_in_flight: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 2
    """Calls of one client running or waiting at once; past it ``API_CLIENT_BUSY``."""
    state_sync: bool = False
    """On first start (empty ledger), begin from a peer's verified state snapshot
    instead of replaying every block from genesis."""


@dataclass(frozen=True, slots=True)
class NodeHome:
    """Paths inside a node home."""

    root: Path

    @property
    def config_file(self) -> Path:
        """``node.toml``."""
        return self.root / "node.toml"

    @property
    def genesis_file(self) -> Path:
        """``genesis.bin``."""
        return self.root / "genesis.bin"

    @property
    def validator_key(self) -> Path:
        """Consensus private key."""
        return self.root / "keys" / "validator.pem"

    @property
    def ledger_dir(self) -> Path:
        """LMDB environment of ledger and state."""
        return self.root / "data" / "ledger"

    @property
    def consensus_dir(self) -> Path:
        """LMDB environment of consensus data."""
        return self.root / "data" / "consensus"

    @property
    def mempool_journal(self) -> Path:
        """Client transactions admitted and not yet known committed."""
        return self.root / "data" / "mempool.journal"

    @property
    def pid_file(self) -> Path:
        """Pid of the running node."""
        return self.root / "node.pid"

    def load_config(self) -> NodeConfig:
        """Read and validate ``node.toml``.

        Raises:
            ConfigError: missing file, bad TOML or invalid settings, with the reason.
        """
        try:
            raw = tomllib.loads(self.config_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"no node configuration at {self.config_file}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{self.config_file}: invalid TOML: {exc}") from None
        try:
            return msgspec.convert(raw, NodeConfig)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"{self.config_file}: {exc}") from None


def render_config(config: NodeConfig) -> str:
    """TOML text of ``config`` (what ``consortia init`` writes)."""
    lines = []
    for field in NodeConfig.__struct_fields__:
        value = getattr(config, field)
        if field == "peers" or value is None:
            continue
        lines.append(f"{field} = {_toml_value(value)}")
    for peer in config.peers:
        lines += [
            "",
            "[[peers]]",
            f'name = "{peer.name}"',
            f'host = "{peer.host}"',
            f"port = {peer.port}",
        ]
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)
