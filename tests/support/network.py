"""Real node processes on loopback for integration tests (optionally behind fault proxies)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
from tests.support.faultproxy import ProxyMesh
from tests.support.ports import free_block

from consortia.execution.policy import ChainPolicy
from consortia.node.config import NodeConfig, NodeHome, PeerConfig, render_config
from consortia.node.init import init_network
from consortia.node.processes import NodeProcesses, node_status


@dataclass
class LiveNetwork:
    """A running network and helpers to drive it over its HTTP API."""

    root: Path
    processes: NodeProcesses
    mesh: ProxyMesh | None

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.processes.entries]

    def api(self, i: int) -> str:
        return self.processes.entries[i].api

    def home(self, i: int) -> Path:
        return self.processes.entries[i].home

    def status(self, i: int) -> dict[str, Any] | None:
        return node_status(self.api(i), 2.0)

    def height(self, i: int) -> int:
        status = self.status(i)
        return -1 if status is None else int(status["height"])

    def wait_height(self, i: int, height: int, timeout_s: float = 30.0) -> int:
        deadline = time.monotonic() + timeout_s
        while (current := self.height(i)) < height:
            if time.monotonic() > deadline:
                raise AssertionError(f"node {i} at height {current}, wanted {height}")
            time.sleep(0.1)
        return current

    def submit(self, raws: list[bytes], node: int = 0) -> list[dict[str, Any]]:
        response = httpx.post(
            f"{self.api(node)}/v1/transactions/batch",
            json={"txs": [r.hex() for r in raws]},
            timeout=60,
        )
        response.raise_for_status()
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    def transaction(self, tx_id: str, node: int = 0) -> dict[str, Any] | None:
        response = httpx.get(f"{self.api(node)}/v1/transactions/{tx_id}", timeout=5)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def wait_committed(self, tx_id: str, node: int = 0, timeout_s: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            record = self.transaction(tx_id, node)
            if record is not None and record.get("status") == "committed":
                return record
            if time.monotonic() > deadline:
                raise AssertionError(f"transaction {tx_id} not committed on node {node}")
            time.sleep(0.1)


def _route_through_proxies(root: Path, names: list[str], p2p_base: int, mesh: ProxyMesh) -> None:
    proxy_base = free_block(len(names) ** 2)
    for i, name in enumerate(names):
        home = NodeHome(root / name)
        config = home.load_config()
        peers = []
        for peer in config.peers:
            j = names.index(peer.name)
            if i < j:  # i dials j: through the proxy (i, j)
                port = proxy_base + i * len(names) + j
                mesh.add(i, j, port, p2p_base + j)
                peers.append(PeerConfig(name=peer.name, host="127.0.0.1", port=port))
            else:
                peers.append(peer)
        updated = msgspec.structs.replace(config, peers=tuple(peers))
        home.config_file.write_text(render_config(updated), encoding="utf-8")


@contextmanager
def live_network(
    tmp_path: Path,
    *,
    validators: int = 1,
    suite: str = "sm",
    proxied: bool = False,
    timing: dict[str, int] | None = None,
    start: list[int] | None = None,
    policy: ChainPolicy | None = None,
) -> Iterator[LiveNetwork]:
    """Initialise a network in ``tmp_path``, start the nodes (``start``: which indices;
    default all), and stop them afterwards."""
    base = free_block(2 * validators)
    root = tmp_path / "net"
    entries = init_network(
        root,
        validators=validators,
        orgs=validators,
        suite=suite,
        base_api_port=base,
        base_p2p_port=base + validators,
        policy=policy,
    )
    names = [e.name for e in entries]
    if timing:
        for entry in entries:
            home = NodeHome(entry.home)
            config = msgspec.structs.replace(home.load_config(), **timing)
            assert isinstance(config, NodeConfig)
            home.config_file.write_text(render_config(config), encoding="utf-8")
    mesh = ProxyMesh() if proxied else None
    if mesh is not None:
        _route_through_proxies(root, names, base + validators, mesh)
    processes = NodeProcesses(root)
    try:
        for i in start if start is not None else range(validators):
            processes.start(names[i])
        yield LiveNetwork(root=root, processes=processes, mesh=mesh)
    finally:
        processes.stop_all()
        if mesh is not None:
            mesh.close()
