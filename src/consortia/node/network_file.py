"""``network.json``: the nodes of a local network, their homes, API and peer addresses.

Kept apart from :mod:`consortia.node.init`, which creates networks (keys,
certificates, genesis) and so imports much more: the CLI reads this file to
find a node for every query, and must start at once (docs/cli.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from consortia.node.config import ConfigError

NETWORK_FILE: Final = "network.json"


@dataclass(frozen=True, slots=True)
class NodeEntry:
    """One node of a local network."""

    name: str
    home: Path
    api: str
    p2p: str


def add_to_network(root: Path, entry: NodeEntry) -> None:
    """List one more node in ``root/network.json`` (a member that joined later).

    Raises:
        ConfigError: no network there, or a node of that name is listed.
    """
    if any(e.name == entry.name for e in read_network(root)):
        raise ConfigError(f"{root} already lists a node {entry.name!r}")
    path = root / NETWORK_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data["nodes"].append(
        {"name": entry.name, "home": str(entry.home.resolve()), "api": entry.api, "p2p": entry.p2p}
    )
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def read_network(root: Path) -> list[NodeEntry]:
    """The nodes listed in ``root/network.json``.

    Raises:
        ConfigError: no network there, or the file is malformed.
    """
    path = root / NETWORK_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [
            NodeEntry(name=n["name"], home=Path(n["home"]), api=n["api"], p2p=n["p2p"])
            for n in data["nodes"]
        ]
    except FileNotFoundError:
        raise ConfigError(f"no network at {root} (run `consortia init` or `devnet up`)") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is malformed: {exc}") from None
