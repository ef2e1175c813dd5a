"""Reading a node home's ``genesis.bin``: the chain's first block and its accounts.

Below both the composition root (which installs it) and the snapshot sync
(which checks a peer's offer against it), so neither imports the other.
"""

from __future__ import annotations

from consortia.codec import decode
from consortia.genesis import Genesis
from consortia.node.config import ConfigError, NodeHome


def load_genesis(home: NodeHome) -> Genesis:
    """Read ``genesis.bin``; raises ConfigError if missing or malformed."""
    try:
        return decode(home.genesis_file.read_bytes(), Genesis)
    except FileNotFoundError:
        raise ConfigError(f"no genesis file at {home.genesis_file}") from None
